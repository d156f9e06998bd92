"""Pixel integration of profiles on regular grids and at scattered pixels.

A model pixel value is the integral of the surface brightness over the pixel
(flux in the pixel), never a sample at its centre. See
:class:`galfitax.IntegrationSettings` for the scheme and its knobs.

Every expensive function of a component (its surface brightness, its
enclosed-flux function) is evaluated once, on one stacked array of all the
points that need it: the compiled graph stays small, which keeps
compilation fast.
"""

import jax
import jax.numpy as jnp
import numpy as np

from galfitax._jax.geometry import _is_static_zero
from galfitax._jax.profiles import get_profile

__all__ = ["corner_integral", "render_grid", "render_points"]


def _gauss_legendre(order, lo=-0.5, hi=0.5):
    nodes, weights = np.polynomial.legendre.leggauss(order)
    return lo + (hi - lo) * 0.5 * (nodes + 1.0), (hi - lo) * 0.5 * weights


_FIRST_TRIANGLE = np.array([1.0, 0.0])


def _triangle_flux(profile, c, ax, ay, bx, by, order):
    """Flux in the triangle (centre, A, B), vertices given in circularised coordinates.

    In polar coordinates about the centre the radial integral is the
    enclosed-flux function ``F`` at the far edge AB. With ``d`` the distance
    from the centre to the line AB and ``P = H + d sinh(s) e`` its points
    (``H`` the foot of the perpendicular, ``e`` the unit direction), the
    angle element is ``ds / cosh(s)`` and the flux is
    ``q int F(r(P)) d^2 cosh(s) / r(P)^2 ds``; for an ellipse ``r(P) = |P| =
    d cosh(s)`` and the integrand is just ``F(d cosh s) / cosh s``: smooth
    for any axis ratio, and logarithmically spaced in distance along edges
    that pass close to the centre.
    """
    # few divisions and no stacking: XLA keeps each division (and each stack) in
    # a kernel of its own, and every kernel costs compile time
    ex, ey = bx - ax, by - ay
    length2 = ex * ex + ey * ey
    cross = jnp.abs(ax * by - ay * bx)
    valid = (length2 > 0) & (cross > 0)
    inv_length = jax.lax.rsqrt(jnp.where(valid, length2, 1.0))
    distance = jnp.where(valid, cross, 1.0) * inv_length
    ex, ey = ex * inv_length, ey * inv_length
    inv_distance = 1.0 / distance
    s_a = jnp.arcsinh((ax * ex + ay * ey) * inv_distance)
    s_b = jnp.arcsinh((bx * ex + by * ey) * inv_distance)
    t, w = _gauss_legendre(order, 0.0, 1.0)
    s = jnp.minimum(s_a, s_b)[..., None] + jnp.abs(s_b - s_a)[..., None] * t
    cosh = jnp.cosh(s)
    dist = distance[..., None]
    if _is_static_zero(c["c0"]):  # an ellipse
        r = dist * cosh
        jacobian = 1.0 / cosh
    else:
        # foot of the perpendicular: the point of AB at s = 0
        hx, hy = ax - (ax * ex + ay * ey) * ex, ay - (ax * ex + ay * ey) * ey
        sinh = jnp.sinh(s) * dist
        r = profile.circular_radius(hx[..., None] + sinh * ex[..., None],
                                    hy[..., None] + sinh * ey[..., None], c)
        r = jnp.where(r > 0, r, 1.0)
        jacobian = dist**2 * cosh / r**2
    integral = jnp.sum(profile.enclosed(r, c) * jacobian * w, axis=-1)
    return jnp.where(valid, c["q"] * jnp.abs(s_b - s_a) * integral, 0.0)


def corner_integral(profile, c, dx, dy, settings):
    """Signed flux in the rectangle spanned by the centre and offset ``(dx, dy)``.

    ``S(dx, dy) = sign(dx) sign(dy) * flux in [0, dx] x [0, dy]`` (offsets
    from the profile centre), so that the flux in any pixel is ``S``
    differenced over its four corners. The rectangle is cut along its
    diagonal into two triangles with a vertex on the centre, each integrated
    by :func:`_triangle_flux` with ``patch_quadrature`` Gauss-Legendre nodes.
    """
    dx, dy = jnp.broadcast_arrays(dx, dy)
    # a leading axis for the two triangles, built by broadcasting so that the
    # enclosed-flux function runs once on all of them: vertex A is (dx, 0) for
    # the first triangle and (0, dy) for the second
    first = _FIRST_TRIANGLE.reshape((2,) + (1,) * dx.ndim)
    ax, ay = profile.circularised(first * dx, (1.0 - first) * dy, c)
    bx, by = profile.circularised(dx, dy, c)
    flux = _triangle_flux(profile, c, ax, ay, bx, by, settings.patch_quadrature)
    return jnp.sign(dx) * jnp.sign(dy) * jnp.sum(flux, axis=0)


# largest Gauss-Legendre order whose nodes are evaluated as separate image-sized
# expressions (fused into one loop: fastest at run time, but each node adds to the
# compiled graph); higher orders stack the nodes on leading axes instead
_UNROLL_ORDER = 2


def _pixel_quadrature(profile, c, x, y, h, order):
    """``order`` x ``order`` Gauss-Legendre integrals over pixels of side ``h`` centred on x, y.

    For ``order <= 2`` each node is its own image-sized expression, which
    XLA fuses into one loop (with the forward-mode tangents of a Jacobian).
    Higher orders make one surface-brightness evaluation on the broadcast
    array ``(order, order) + x.shape``: the nodes lead, so that the weighted
    sum adds whole contiguous planes, and the graph holds the profile once.
    """
    if order == 1:
        return profile.surface_brightness(x, y, c) * (h * h)
    nodes, weights = _gauss_legendre(order)
    if order <= _UNROLL_ORDER:
        total = 0.0
        for node_y, weight_y in zip(nodes, weights):
            for node_x, weight_x in zip(nodes, weights):
                sb = profile.surface_brightness(x + h * node_x, y + h * node_y, c)
                total = total + (weight_x * weight_y * h * h) * sb
        return total
    ndim = len(jnp.broadcast_shapes(jnp.shape(x), jnp.shape(y)))
    trailing = (1,) * ndim
    xs = x + h * nodes.reshape((1, order) + trailing)
    ys = y + h * nodes.reshape((order, 1) + trailing)
    sb = profile.surface_brightness(xs, ys, c)
    return jnp.sum(sb * np.outer(weights, weights).reshape((order, order) + trailing),
                   axis=(0, 1)) * (h * h)


def _point_source_grid(p, x_start, y_start, h, shape):
    ny, nx = shape
    col = jnp.floor((p["x_0"] - x_start) / h + 0.5).astype(int)
    row = jnp.floor((p["y_0"] - y_start) / h + 0.5).astype(int)
    inside = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
    image = jnp.zeros(shape)
    return image.at[jnp.clip(row, 0, ny - 1), jnp.clip(col, 0, nx - 1)].add(
        jnp.where(inside, p["flux"], 0.0))


def _patch_corners(start, size, origin, h, centre):
    """Offsets from the centre of the ``size + 1`` pixel edges of a patch."""
    return origin + h * (start + jnp.arange(size + 1) - 0.5) - centre


def _patch_start(centre, origin, h, size, n):
    """First index of a ``size``-pixel window centred on ``centre``, clamped into ``[0, n)``."""
    index = jnp.floor((centre - origin) / h + 0.5).astype(int)
    return jnp.clip(index - size // 2, 0, n - size)


def _quadrature_patch(profile, c, x_start, y_start, h, shape, size, order):
    """``order``-node Gauss-Legendre integrals on the ``size`` x ``size`` window around the centre.

    Returns ``(patch, start_y, start_x)``.
    """
    ny, nx = shape
    size_y, size_x = min(size, ny), min(size, nx)
    start_x = _patch_start(c["x_0"], x_start, h, size_x, nx)
    start_y = _patch_start(c["y_0"], y_start, h, size_y, ny)
    patch_x = x_start + h * (start_x + jnp.arange(size_x))[None, :]
    patch_y = y_start + h * (start_y + jnp.arange(size_y))[:, None]
    return _pixel_quadrature(profile, c, patch_x, patch_y, h, order), start_y, start_x


def render_grid(kind, p, x_start, y_start, h, shape, settings):
    """Pixel-integrated image of one profile on a regular grid.

    Nested regions, each overwriting the previous one (see
    :class:`galfitax.IntegrationSettings`): every pixel from a corrected
    centre sample (smooth profiles, grids larger than ``outer_size``) or
    with ``outer_subsampling`` Gauss-Legendre nodes per axis; the
    ``outer_size`` window around the centre with ``outer_subsampling``
    nodes; the ``subsampled_size`` window with ``subsampling`` nodes; the
    ``patch_size`` window exactly (elliptical profiles) or with
    ``patch_subsampling`` nodes. Windows have static sizes and move with the
    centre (clamped inside the grid), so the compiled program never changes.

    Parameters
    ----------
    kind : str
        Registered profile kind.
    p : dict
        Parameter values (scalars, possibly traced).
    x_start, y_start : scalar
        Coordinates of the centre of pixel ``[0, 0]``.
    h : float
        Pixel side in coordinate units (static; ``1/oversampling`` on fine grids).
    shape : tuple of int
        ``(ny, nx)``, static.
    settings : IntegrationSettings
    """
    profile = get_profile(kind)
    ny, nx = shape
    if kind == "point":
        return _point_source_grid(p, x_start, y_start, h, shape)
    c = profile.prepare(p, settings)
    x = x_start + h * jnp.arange(nx)[None, :]
    y = y_start + h * jnp.arange(ny)[:, None]
    if kind in ("flat_sky", "tilted_sky"):
        # constant and linear surfaces: the centre value is the exact pixel mean
        return jnp.broadcast_to(profile.surface_brightness(x, y, c), shape) * h * h
    if (settings.corrected_outskirts and profile.smooth_outskirts
            and max(ny, nx) > settings.outer_size):
        image = _corrected_centre_samples(profile, c, x_start, y_start, h, shape)
        window, start_y, start_x = _quadrature_patch(
            profile, c, x_start, y_start, h, shape, settings.outer_size,
            settings.outer_subsampling)
        image = _overwrite(image, window, start_y, start_x)
    else:
        image = _pixel_quadrature(profile, c, x, y, h, settings.outer_subsampling)
    if settings.subsampling != settings.outer_subsampling:
        middle, start_y, start_x = _quadrature_patch(
            profile, c, x_start, y_start, h, shape, settings.subsampled_size, settings.subsampling)
        image = _overwrite(image, middle, start_y, start_x)
    if profile.elliptical:
        size_y, size_x = min(settings.patch_size, ny), min(settings.patch_size, nx)
        start_x = _patch_start(c["x_0"], x_start, h, size_x, nx)
        start_y = _patch_start(c["y_0"], y_start, h, size_y, ny)
        corners_x = _patch_corners(start_x, size_x, x_start, h, c["x_0"])
        corners_y = _patch_corners(start_y, size_y, y_start, h, c["y_0"])
        s = corner_integral(profile, c, corners_x[None, :], corners_y[:, None], settings)
        patch = s[1:, 1:] - s[1:, :-1] - s[:-1, 1:] + s[:-1, :-1]
    else:
        patch, start_y, start_x = _quadrature_patch(
            profile, c, x_start, y_start, h, shape, settings.patch_size,
            settings.patch_subsampling)
    return _overwrite(image, patch, start_y, start_x)


# Mean of a smooth f over [-1/2, 1/2] from its samples f_k = f(k): f + f2/24 + f4/1920 +
# O(f6) (f2, f4: derivatives at 0); with the central differences d2 = f2 + f4/12 + ...
# and d4 = f4 + ...: mean = f_0 + d2/24 - 17/5760 d4 + O(f6). Taps on f_+-2, f_+-1, f_0:
_PIXEL_MEAN_TAPS = (-17.0 / 5760.0, 1.0 / 24.0 + 68.0 / 5760.0,
                    1.0 - 2.0 / 24.0 - 102.0 / 5760.0)


def _corrected_centre_samples(profile, c, x_start, y_start, h, shape):
    """Pixel integrals from one centre sample per pixel, corrected for the curvature.

    The surface brightness is sampled at the pixel centres of the grid grown
    by two pixels on each side; the pixel mean is then the tensor product of
    the one-dimensional rule ``f + d2/24 - 17/5760 d4`` (second and fourth
    central differences of the samples) along x and along y: exact for
    polynomials up to degree 5 per axis, with an error of order ``(h/L)^6``
    for a profile of scale ``L``. For smooth profiles away from their
    centres (the windows of `render_grid` overwrite the pixels near it).
    """
    ny, nx = shape
    x = x_start + h * jnp.arange(-2, nx + 2)[None, :]
    y = y_start + h * jnp.arange(-2, ny + 2)[:, None]
    samples = profile.surface_brightness(x, y, c)
    outer, near, middle = _PIXEL_MEAN_TAPS
    along_x = (middle * samples[:, 2:nx + 2]
               + near * (samples[:, 1:nx + 1] + samples[:, 3:nx + 3])
               + outer * (samples[:, 0:nx] + samples[:, 4:nx + 4]))
    mean = (middle * along_x[2:ny + 2]
            + near * (along_x[1:ny + 1] + along_x[3:ny + 3])
            + outer * (along_x[0:ny] + along_x[4:ny + 4]))
    return mean * (h * h)


def _overwrite(image, window, start_y, start_x):
    """``image`` with ``window`` written at ``(start_y, start_x)`` (a scatter).

    Not a ``dynamic_update_slice``: XLA fuses the computation of a computed
    image into that update's loop, whose per-pixel branch (in the window or
    not) stops it from being vectorised, and every pixel of the image then
    costs several times more. A scatter takes the image as a finished array
    and writes only the window's pixels.
    """
    rows = start_y + jnp.arange(window.shape[0])
    cols = start_x + jnp.arange(window.shape[1])
    return image.at[rows[:, None], cols[None, :]].set(window, indices_are_sorted=True,
                                                      unique_indices=True)


def _corrected_centre_sample_points(profile, c, x, y):
    """`_corrected_centre_samples` for unit pixels centred on scattered ``x, y``.

    The same 5 x 5 samples and weights per pixel as on a grid (25 profile
    evaluations per pixel instead of one shared sample: scattered pixels are
    not a hot path), so scattered and grid values agree to rounding error.
    """
    offsets = np.arange(-2.0, 3.0)
    outer, near, middle = _PIXEL_MEAN_TAPS
    taps = np.array([outer, near, middle, near, outer])
    x, y = jnp.asarray(x), jnp.asarray(y)
    samples = profile.surface_brightness(x[..., None, None] + offsets,
                                         y[..., None, None] + offsets[:, None], c)
    return jnp.sum(samples * np.outer(taps, taps), axis=(-2, -1))


# corners of a unit pixel and the signs that turn corner integrals into its flux
_CORNER_DX = np.array([0.5, -0.5, 0.5, -0.5])
_CORNER_DY = np.array([0.5, 0.5, -0.5, -0.5])
_CORNER_SIGN = np.array([1.0, -1.0, -1.0, 1.0])


def render_points(kind, p, x, y, settings):
    """Integrals over unit pixels centred on scattered positions ``x, y``."""
    profile = get_profile(kind)
    if kind == "point":
        inside = (jnp.abs(x - p["x_0"]) < 0.5) & (jnp.abs(y - p["y_0"]) < 0.5)
        return jnp.where(inside, p["flux"], 0.0)
    c = profile.prepare(p, settings)
    if kind in ("flat_sky", "tilted_sky"):
        return jnp.broadcast_to(profile.surface_brightness(x, y, c),
                                jnp.broadcast_shapes(jnp.shape(x), jnp.shape(y)))
    values = _pixel_quadrature(profile, c, x, y, 1.0, settings.outer_subsampling)
    if settings.corrected_outskirts and profile.smooth_outskirts:
        half = settings.outer_size / 2.0
        window = (jnp.abs(x - c["x_0"]) < half) & (jnp.abs(y - c["y_0"]) < half)
        values = jnp.where(window, values, _corrected_centre_sample_points(profile, c, x, y))
    if settings.subsampling != settings.outer_subsampling:
        half = settings.subsampled_size / 2.0
        middle = (jnp.abs(x - c["x_0"]) < half) & (jnp.abs(y - c["y_0"]) < half)
        values = jnp.where(middle, _pixel_quadrature(profile, c, x, y, 1.0, settings.subsampling),
                           values)
    half = settings.patch_size / 2.0
    near = (jnp.abs(x - c["x_0"]) < half) & (jnp.abs(y - c["y_0"]) < half)
    if profile.elliptical:
        s = corner_integral(profile, c, (x - c["x_0"])[..., None] + _CORNER_DX,
                            (y - c["y_0"])[..., None] + _CORNER_DY, settings)
        exact = jnp.sum(s * _CORNER_SIGN, axis=-1)
    else:
        exact = _pixel_quadrature(profile, c, x, y, 1.0, settings.patch_subsampling)
    return jnp.where(near, exact, values)
