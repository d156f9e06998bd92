"""Pixel integration of profiles on regular grids and at scattered pixels.

A model pixel value is the integral of the surface brightness over the pixel
(flux in the pixel), never a sample at its centre. See
:class:`galfitax.IntegrationSettings` for the scheme and its knobs.
"""

import jax
import jax.numpy as jnp
import numpy as np

from galfitax._jax.profiles import get_profile

__all__ = ["corner_integral", "render_grid", "render_points"]


def _gauss_legendre(order, lo=-0.5, hi=0.5):
    nodes, weights = np.polynomial.legendre.leggauss(order)
    return lo + (hi - lo) * 0.5 * (nodes + 1.0), (hi - lo) * 0.5 * weights


def _triangle_integral(profile, p, far, along, swap, settings):
    """Integral over the triangle (centre, (far, 0), (far, along)) in local axes.

    ``far`` and ``along`` are signed offsets from the centre; ``swap`` says the
    far edge is a line of constant y (so local (u, v) = image (y, x)).
    Written as ``int dpsi F(r_ell(P)) / g(psi)^2`` over the angle subtended.
    """
    order = settings.patch_quadrature
    abs_far = jnp.abs(far)
    safe_far = jnp.where(abs_far > 0, abs_far, 1.0)
    psi_max = jnp.arctan2(jnp.abs(along), safe_far)
    t, w = _gauss_legendre(order, 0.0, 1.0)
    psi = psi_max[..., None] * t
    u = jnp.sign(far)[..., None] * safe_far[..., None] * jnp.ones_like(psi)
    v = jnp.sign(along)[..., None] * safe_far[..., None] * jnp.tan(psi)
    dx, dy = (v, u) if swap else (u, v)
    x = p["x_0"] + dx
    y = p["y_0"] + dy
    r_ell = profile.elliptical_radius(x, y, p)
    dist2 = dx * dx + dy * dy
    safe_r = jnp.where(r_ell > 0, r_ell, 1.0)
    integrand = jnp.where(
        r_ell > 0,
        dist2 / safe_r**2 * profile.enclosed(r_ell, p, settings.radial_quadrature),
        0.0,
    )
    value = psi_max * jnp.sum(integrand * w, axis=-1)
    return jnp.where(abs_far > 0, value, 0.0)


def corner_integral(profile, p, dx, dy, settings):
    """Signed flux in the rectangle spanned by the centre and offset ``(dx, dy)``.

    ``S(dx, dy) = sign(dx) sign(dy) * flux in [0, dx] x [0, dy]`` (relative to
    the profile centre), computed exactly up to the angular quadrature. The
    integral over any pixel is ``S`` differenced over its four corners.
    """
    t_vertical_edge = _triangle_integral(profile, p, dx, dy, False, settings)
    t_horizontal_edge = _triangle_integral(profile, p, dy, dx, True, settings)
    return jnp.sign(dx) * jnp.sign(dy) * (t_vertical_edge + t_horizontal_edge)


def _subsampled(profile, p, x, y, h, order, settings):
    """Gauss-Legendre ``order`` x ``order`` pixel integral of pixels of side ``h``."""
    nodes, weights = _gauss_legendre(order)
    total = 0.0
    for node_y, weight_y in zip(nodes, weights):
        for node_x, weight_x in zip(nodes, weights):
            sb = profile.surface_brightness(x + h * node_x, y + h * node_y, p,
                                            settings.radial_quadrature)
            total = total + (weight_x * weight_y) * sb
    return total * h * h


def _point_source_grid(p, x_start, y_start, h, shape):
    ny, nx = shape
    col = jnp.floor((p["x_0"] - x_start) / h + 0.5).astype(int)
    row = jnp.floor((p["y_0"] - y_start) / h + 0.5).astype(int)
    inside = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
    image = jnp.zeros(shape)
    return image.at[jnp.clip(row, 0, ny - 1), jnp.clip(col, 0, nx - 1)].add(
        jnp.where(inside, p["flux"], 0.0))


def render_grid(kind, p, x_start, y_start, h, shape, settings):
    """Pixel-integrated image of one profile on a regular grid.

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
    x = x_start + h * jnp.arange(nx)[None, :]
    y = y_start + h * jnp.arange(ny)[:, None]
    if kind == "point":
        return _point_source_grid(p, x_start, y_start, h, shape)
    if kind in ("flat_sky", "tilted_sky"):
        # constant and linear surfaces: the centre value is the exact pixel mean
        return jnp.broadcast_to(profile.surface_brightness(x, y, p), shape) * h * h
    image = _subsampled(profile, p, x, y, h, settings.subsampling, settings)
    size_y, size_x = min(settings.patch_size, ny), min(settings.patch_size, nx)
    col = jnp.floor((p["x_0"] - x_start) / h + 0.5).astype(int)
    row = jnp.floor((p["y_0"] - y_start) / h + 0.5).astype(int)
    start_x = jnp.clip(col - size_x // 2, 0, nx - size_x)
    start_y = jnp.clip(row - size_y // 2, 0, ny - size_y)
    if profile.elliptical:
        corners_x = x_start + h * (start_x + jnp.arange(size_x + 1) - 0.5) - p["x_0"]
        corners_y = y_start + h * (start_y + jnp.arange(size_y + 1) - 0.5) - p["y_0"]
        s = corner_integral(profile, p, corners_x[None, :], corners_y[:, None], settings)
        patch = s[1:, 1:] - s[1:, :-1] - s[:-1, 1:] + s[:-1, :-1]
    else:
        patch_x = x_start + h * (start_x + jnp.arange(size_x))[None, :]
        patch_y = y_start + h * (start_y + jnp.arange(size_y))[:, None]
        patch = _subsampled(profile, p, patch_x, patch_y, h, settings.patch_subsampling, settings)
    return jax.lax.dynamic_update_slice(image, patch, (start_y, start_x))


def render_points(kind, p, x, y, settings):
    """Integrals over unit pixels centred on scattered positions ``x, y``."""
    profile = get_profile(kind)
    if kind == "point":
        inside = (jnp.abs(x - p["x_0"]) < 0.5) & (jnp.abs(y - p["y_0"]) < 0.5)
        return jnp.where(inside, p["flux"], 0.0)
    if kind in ("flat_sky", "tilted_sky"):
        return jnp.broadcast_to(profile.surface_brightness(x, y, p),
                                jnp.broadcast_shapes(jnp.shape(x), jnp.shape(y)))
    values = _subsampled(profile, p, x, y, 1.0, settings.subsampling, settings)
    half = settings.patch_size / 2.0
    near = (jnp.abs(x - p["x_0"]) < half) & (jnp.abs(y - p["y_0"]) < half)
    if profile.elliptical:
        def s(sx, sy):
            return corner_integral(profile, p, x + sx - p["x_0"], y + sy - p["y_0"], settings)
        exact = s(0.5, 0.5) - s(-0.5, 0.5) - s(0.5, -0.5) + s(-0.5, -0.5)
    else:
        exact = _subsampled(profile, p, x, y, 1.0, settings.patch_subsampling, settings)
    return jnp.where(near, exact, values)
