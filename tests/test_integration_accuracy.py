"""Accuracy of the pixel integration against analytic and independent references.

* total flux against the exact flux inside the frame (scipy quadrature);
* pixel values of steep Sersic cusps against a converged brute-force
  quadrature (recursive subdivision of the cells around the centre, numpy);
* pixel values of shallow profiles against GalSim's pixel-convolved
  rendering.

All models of one kind share one frame shape, so each kind compiles once.
"""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import gammainc, gammaincinv, gammaln

import galfitax
from galfitax.exceptions import InvalidParameterError

FLUX_FRAME = 128                       # centred on the middle pixel corner: frame symmetric
STAMP = 24                             # frame of the pixel-value comparisons
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(12)


# -- references -------------------------------------------------------------------
def sersic_surface_brightness(dx, dy, flux, r_eff, n, q, theta):
    """Sersic surface brightness (numpy, independent of galfitax)."""
    b = gammaincinv(2.0 * n, 0.5)
    cos, sin = np.cos(theta), np.sin(theta)
    radius = np.hypot(dx * cos + dy * sin, (-dx * sin + dy * cos) / q)
    total = 2.0 * np.pi * q * r_eff**2 * n * np.exp(gammaln(2.0 * n) - 2.0 * n * np.log(b))
    return flux / total * np.exp(-b * (radius / r_eff) ** (1.0 / n))


def _cell_integrals(surface_brightness, x, y, size):
    """12 x 12 Gauss-Legendre integrals over square cells of side ``size`` centred on x, y."""
    offsets = 0.5 * size * _NODES
    values = surface_brightness(x[:, None, None] + offsets[None, None, :],
                                y[:, None, None] + offsets[None, :, None])
    return np.sum(values * np.outer(_WEIGHTS, _WEIGHTS), axis=(1, 2)) * (0.25 * size * size)


def brute_force_image(surface_brightness, shape, x_0, y_0, depth=32):
    """Pixel integrals by recursive subdivision around the centre ``(x_0, y_0)``.

    A cell closer to the centre than twice its size is split into four;
    every other cell is integrated with a 12 x 12 Gauss-Legendre rule, which
    converges geometrically there (the nearest singularity is at least two
    cell sizes away). Converged to ~1e-9 of the peak for Sersic n <= 8.
    """
    ny, nx = shape
    rows, cols = np.mgrid[0:ny, 0:nx]
    image = np.zeros(ny * nx)
    owner = np.arange(ny * nx)
    x, y = cols.ravel().astype(float), rows.ravel().astype(float)
    size = 1.0
    for level in range(depth + 1):
        distance = np.maximum(np.abs(x - x_0), np.abs(y - y_0))
        split = (distance < 2.0 * size) & (level < depth)
        np.add.at(image, owner[~split], _cell_integrals(surface_brightness, x[~split],
                                                        y[~split], size))
        x, y, owner = x[split], y[split], owner[split]
        size /= 2.0
        quarter = size / 2.0
        x = np.concatenate([x - quarter, x + quarter, x - quarter, x + quarter])
        y = np.concatenate([y - quarter, y - quarter, y + quarter, y + quarter])
        owner = np.tile(owner, 4)
    return image.reshape(shape)


def circle_fraction_in_rectangle(r, half_x, half_y):
    """Fraction of the circle of radius ``r`` (centred) inside ``|x| < half_x, |y| < half_y``."""
    if r * r >= half_x**2 + half_y**2:
        return 0.0
    outside = 0.0
    if r > half_x:
        outside += np.arccos(half_x / r)
    if r > half_y:
        outside += np.arccos(half_y / r)
    return 1.0 - 2.0 * outside / np.pi


def sersic_flux_in_frame(flux, r_eff, n, q, half_width):
    """Exact flux of a centred Sersic (theta = 0) inside the square ``|x|, |y| < half_width``.

    Scaling y by 1/q maps the frame to a rectangle and the profile to a
    circular one; the flux is the enclosed-flux increments weighted by the
    fraction of each circle inside that rectangle, integrated over
    ``z = b (r / r_eff)^(1/n)`` (where ``dP = z^(2n-1) e^-z / Gamma(2n) dz``).
    """
    b = gammaincinv(2.0 * n, 0.5)
    half_y = half_width / q
    z_inside = b * (half_width / r_eff) ** (1.0 / n)       # circles wholly inside below this
    z_outside = b * (np.hypot(half_width, half_y) / r_eff) ** (1.0 / n)

    def integrand(z):
        r = r_eff * (z / b) ** n
        density = np.exp((2.0 * n - 1.0) * np.log(z) - z - gammaln(2.0 * n))
        return density * circle_fraction_in_rectangle(r, half_width, half_y)

    partial, _ = quad(integrand, z_inside, z_outside, epsabs=1e-13, epsrel=1e-12, limit=400)
    return flux * (gammainc(2.0 * n, z_inside) + partial)


# -- flux conservation ------------------------------------------------------------
@pytest.fixture(scope="module")
def flux_grid():
    return np.mgrid[0:FLUX_FRAME, 0:FLUX_FRAME]


@pytest.mark.parametrize("q", [0.2, 1.0])
@pytest.mark.parametrize("r_eff", [0.5, 1.0, 3.0, 20.0])
@pytest.mark.parametrize("n", [0.5, 1.0, 2.0, 4.0, 8.0])
def test_sersic_flux_conservation(flux_grid, n, r_eff, q):
    y, x = flux_grid
    centre = (FLUX_FRAME - 1) / 2.0
    model = galfitax.Sersic2D(flux=1.0, r_eff=r_eff, n=n, x_0=centre, y_0=centre,
                              ellip=1.0 - q, theta=0.0)
    expected = sersic_flux_in_frame(1.0, r_eff, n, q, FLUX_FRAME / 2.0)
    tolerance = 1e-4 if r_eff >= 3 else 1e-3
    assert model(x, y).sum() == pytest.approx(expected, rel=tolerance)


def test_frame_flux_reference_is_exact_for_an_enclosed_profile():
    # the reference itself: a compact profile lies wholly inside the frame
    assert sersic_flux_in_frame(1.0, 2.0, 1.0, 0.5, 100.0) == pytest.approx(1.0, abs=1e-12)
    # a circle inside the rectangle, and one through its corners
    assert circle_fraction_in_rectangle(1.0, 2.0, 2.0) == 1.0
    assert circle_fraction_in_rectangle(np.sqrt(2.0), 1.0, 1.0) == 0.0
    # half of it inside a strip of half-width r sin(pi/4) and a long side
    assert circle_fraction_in_rectangle(1.0, np.sqrt(0.5), 10.0) == pytest.approx(0.5)


# -- pixel values: steep cusps against brute force ------------------------------------
@pytest.fixture(scope="module")
def stamp_grid():
    return np.mgrid[0:STAMP, 0:STAMP]


@pytest.mark.parametrize("q", [0.2, 1.0])
@pytest.mark.parametrize("r_eff", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("n", [4.0, 8.0])
def test_sersic_cusp_pixels_match_brute_force(stamp_grid, n, r_eff, q):
    y, x = stamp_grid
    rng = np.random.default_rng(int(100 * n + 10 * r_eff + q))
    x_0, y_0 = STAMP / 2.0 + rng.uniform(-0.5, 0.5, 2)
    theta = rng.uniform(0.0, np.pi)
    model = galfitax.Sersic2D(flux=1.0, r_eff=r_eff, n=n, x_0=x_0, y_0=y_0, ellip=1.0 - q,
                              theta=theta)
    reference = brute_force_image(
        lambda xx, yy: sersic_surface_brightness(xx - x_0, yy - y_0, 1.0, r_eff, n, q, theta),
        (STAMP, STAMP), x_0, y_0)
    image = model(x, y)
    assert np.max(np.abs(image - reference)) < 1e-3 * reference.max()


@pytest.mark.parametrize(("x_offset", "y_offset"), [(0.0, 0.0), (0.5, 0.5), (0.5, 0.0)])
def test_centre_on_pixel_centre_corner_and_edge(stamp_grid, x_offset, y_offset):
    # the exact patch at its degenerate points (centre on a corner or edge line)
    y, x = stamp_grid
    x_0, y_0 = 11.0 + x_offset, 12.0 + y_offset
    model = galfitax.Sersic2D(flux=1.0, r_eff=0.7, n=6.0, x_0=x_0, y_0=y_0, ellip=0.4,
                              theta=0.3)
    reference = brute_force_image(
        lambda xx, yy: sersic_surface_brightness(xx - x_0, yy - y_0, 1.0, 0.7, 6.0, 0.6, 0.3),
        (STAMP, STAMP), x_0, y_0)
    image = model(x, y)
    assert np.all(np.isfinite(image))
    assert np.max(np.abs(image - reference)) < 1e-3 * reference.max()


# -- pixel values: shallow profiles against GalSim ----------------------------------
def _galsim_image(profile, q, theta, offset):
    galsim = pytest.importorskip("galsim")
    if q < 1:
        profile = profile.shear(q=q, beta=theta * galsim.radians)
    return profile.drawImage(nx=STAMP, ny=STAMP, scale=1.0, offset=offset).array


def _galsim_params():
    galsim = pytest.importorskip("galsim")
    # GalSim's own errors well below the 1e-3 tolerance
    return galsim.GSParams(folding_threshold=1e-3, maxk_threshold=1e-4)


# (kind, size, q): GalSim's FFT is affordable for these; size is r_eff or FWHM
GALSIM_CASES = [
    ("sersic0.5", 0.5, 0.2), ("sersic0.5", 1.0, 1.0), ("sersic0.5", 3.0, 0.2),
    ("sersic1", 1.0, 0.2), ("sersic1", 0.5, 1.0), ("sersic1", 3.0, 1.0),
    ("sersic2", 1.0, 1.0), ("sersic2", 3.0, 1.0),
    ("gaussian", 0.5, 0.2), ("gaussian", 1.0, 1.0), ("gaussian", 3.0, 0.2),
    ("moffat", 0.5, 1.0), ("moffat", 1.0, 0.2), ("moffat", 3.0, 1.0),
]


@pytest.mark.parametrize(("kind", "size", "q"), GALSIM_CASES)
def test_pixels_match_galsim(stamp_grid, kind, size, q):
    galsim = pytest.importorskip("galsim")
    gsparams = _galsim_params()
    y, x = stamp_grid
    rng = np.random.default_rng(int(1000 * size + 10 * q) + len(kind))
    offset = rng.uniform(-0.5, 0.5, 2)
    theta = rng.uniform(0.0, np.pi)
    # GalSim sizes are circular; its shear keeps the area, so the semi-major
    # size (ours) is the circular one divided by sqrt(q)
    circular = size * np.sqrt(q)
    if kind.startswith("sersic"):
        n = float(kind[len("sersic"):])
        reference = galsim.Sersic(n=n, half_light_radius=circular, flux=1.0, gsparams=gsparams)
        model = galfitax.Sersic2D(flux=1.0, r_eff=size, n=n)
    elif kind == "gaussian":
        reference = galsim.Gaussian(fwhm=circular, flux=1.0, gsparams=gsparams)
        model = galfitax.Gaussian2D(flux=1.0, fwhm=size)
    else:
        reference = galsim.Moffat(beta=2.5, fwhm=circular, flux=1.0, gsparams=gsparams)
        model = galfitax.Moffat2D(flux=1.0, fwhm=size, alpha=2.5)
    expected = _galsim_image(reference, q, theta, offset)
    # GalSim centres the profile on the true centre of the stamp plus the offset
    model.x_0, model.y_0 = (STAMP - 1) / 2.0 + offset
    model.ellip, model.theta = 1.0 - q, theta
    image = model(x, y)
    assert np.max(np.abs(image - expected)) < 1e-3 * expected.max()


@pytest.mark.parametrize(("h_s", "theta"), [(0.3, 0.0), (1.5, 0.5)])
def test_edge_on_disk_pixels_match_brute_force(stamp_grid, h_s, theta):
    from scipy.special import k1

    y, x = stamp_grid
    x_0, y_0, r_s = 11.3, 12.2, 4.0

    def surface_brightness(xx, yy):
        along = (xx - x_0) * np.cos(theta) + (yy - y_0) * np.sin(theta)
        across = -(xx - x_0) * np.sin(theta) + (yy - y_0) * np.cos(theta)
        t = np.maximum(np.abs(along) / r_s, 1e-300)
        return t * k1(t) / np.cosh(across / h_s) ** 2 / (2.0 * np.pi * r_s * h_s)

    reference = brute_force_image(surface_brightness, (STAMP, STAMP), x_0, y_0, depth=12)
    model = galfitax.EdgeOnDisk2D(flux=1.0, r_s=r_s, h_s=h_s, x_0=x_0, y_0=y_0, theta=theta)
    image = model(x, y)
    assert np.max(np.abs(image - reference)) < 1e-3 * reference.max()


# -- the corrected centre samples of the outskirts -------------------------------------
def test_pixel_mean_taps_are_exact_to_degree_five():
    # the 1-D rule f0 + d2/24 - 17/5760 d4 as taps on f(-2) .. f(2): the mean of
    # x**k over the pixel [-1/2, 1/2] for k <= 5, not for k = 6
    from galfitax._jax.integrate import _PIXEL_MEAN_TAPS

    outer, near, middle = _PIXEL_MEAN_TAPS
    taps = np.array([outer, near, middle, near, outer])
    offsets = np.arange(-2.0, 3.0)
    for k in range(6):
        exact = (0.5 ** (k + 1) - (-0.5) ** (k + 1)) / (k + 1)
        assert taps @ offsets**k == pytest.approx(exact, abs=1e-15)
    assert abs(taps @ offsets**6 - 0.5**6 / 7) > 1e-3


OUTSKIRTS = 64      # larger than the default 31 x 31 window: the outskirts are corrected


@pytest.mark.parametrize(("n", "r_eff", "q"), [(2.0, 20.0, 0.2), (4.0, 3.0, 0.5),
                                                (1.0, 10.0, 1.0), (8.0, 1.0, 0.2)])
def test_corrected_outskirts_match_brute_force(n, r_eff, q):
    y, x = np.mgrid[0:OUTSKIRTS, 0:OUTSKIRTS]
    rng = np.random.default_rng(int(10 * n + r_eff))
    x_0, y_0 = OUTSKIRTS / 2.0 + rng.uniform(-0.5, 0.5, 2)
    theta = rng.uniform(0.0, np.pi)
    reference = brute_force_image(
        lambda xx, yy: sersic_surface_brightness(xx - x_0, yy - y_0, 1.0, r_eff, n, q, theta),
        (OUTSKIRTS, OUTSKIRTS), x_0, y_0, depth=16)
    images = {}
    for corrected in (True, False):
        settings = galfitax.IntegrationSettings(corrected_outskirts=corrected)
        model = galfitax.Sersic2D(flux=1.0, r_eff=r_eff, n=n, x_0=x_0, y_0=y_0, ellip=1.0 - q,
                                  theta=theta, integration=settings)
        images[corrected] = model(x, y)
    peak = reference.max()
    outskirts = np.maximum(np.abs(x - np.round(x_0)), np.abs(y - np.round(y_0))) > 15
    error = np.abs(images[True] - reference)
    assert np.max(error[outskirts]) < 1e-5 * peak
    assert np.max(error) < 3e-5 * peak
    # the windows are the Gauss-Legendre rule's: identical there
    np.testing.assert_array_equal(images[True][~outskirts], images[False][~outskirts])
    # total flux as close to the reference as the Gauss-Legendre rule's, or closer
    flux_error = abs(images[True].sum() / reference.sum() - 1.0)
    assert flux_error < max(2.0 * abs(images[False].sum() / reference.sum() - 1.0), 1e-8)


def test_profiles_with_edges_keep_the_gauss_legendre_outskirts():
    # a truncated profile: centre samples with finite differences would ring at its edge
    y, x = np.mgrid[0:OUTSKIRTS, 0:OUTSKIRTS]
    images = [galfitax.Ferrers2D(flux=1.0, r_out=25.0, alpha=0.5, beta=0.0, x_0=31.3, y_0=32.6,
                                 integration=galfitax.IntegrationSettings(
                                     corrected_outskirts=corrected))(x, y)
              for corrected in (True, False)]
    np.testing.assert_array_equal(images[0], images[1])
    assert images[0].min() >= 0.0


def test_corrected_outskirts_setting_is_validated():
    with pytest.raises(InvalidParameterError, match="corrected_outskirts"):
        galfitax.IntegrationSettings(corrected_outskirts=1)
    with pytest.raises(InvalidParameterError, match="outer_size must be odd"):
        galfitax.IntegrationSettings(outer_size=30)
