"""PSF convolution: analytic and GalSim oracles, point sources, padding, derivatives, caching."""

import copy
import pickle

import numpy as np
import pytest
from astropy.modeling.models import Const2D
from photutils.psf import CircularGaussianPRF, GaussianPSF, ImagePSF
from scipy.signal import fftconvolve
from scipy.special import erf

import galfitax
from galfitax import PSFConvolvedModel
from galfitax._jax.render import trace_count
from galfitax.exceptions import InvalidModelError
from galfitax.models.plan import build_plan

SHAPE = (32, 32)
SIGMA_TO_FWHM = 2.0 * np.sqrt(2.0 * np.log(2.0))
SIGMA_GALAXY, SIGMA_PSF = 1.6, 1.2


def pixel_gaussian(flux, sigma, x_0, y_0, shape=SHAPE):
    """Exact pixel integrals of a circular Gaussian (0-based pixel centres)."""
    def axis(n, centre):
        edges = (np.arange(n + 1) - 0.5 - centre) / (np.sqrt(2.0) * sigma)
        return 0.5 * np.diff(erf(edges))

    return flux * np.outer(axis(shape[0], y_0), axis(shape[1], x_0))


def sampled_gaussian(sigma, half, oversampling):
    """Point samples of a unit Gaussian PSF, ``oversampling`` per pixel."""
    y, x = np.mgrid[-half:half + 1, -half:half + 1] / oversampling
    psf = np.exp(-(x**2 + y**2) / (2 * sigma**2))
    return psf / psf.sum()


@pytest.fixture(scope="module")
def grid():
    y, x = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    return x, y


@pytest.fixture(scope="module")
def galaxy():
    # 3 x 3 nodes in every pixel: the analytic comparisons below test the convolution
    # to 1e-8, below the default 2 x 2 outer quadrature's ~1e-7 on a fine grid
    return galfitax.Gaussian2D(flux=1000.0, fwhm=SIGMA_GALAXY * SIGMA_TO_FWHM, x_0=15.3, y_0=16.6,
                               integration=galfitax.IntegrationSettings(outer_subsampling=3))


@pytest.fixture(scope="module")
def gaussian_reference():
    return pixel_gaussian(1000.0, np.hypot(SIGMA_GALAXY, SIGMA_PSF), 15.3, 16.6)


@pytest.mark.parametrize("psf, options, rtol", [
    (CircularGaussianPRF(fwhm=SIGMA_PSF * SIGMA_TO_FWHM), {"psf_shape": 13}, 2e-6),
    (GaussianPSF(x_fwhm=SIGMA_PSF * SIGMA_TO_FWHM, y_fwhm=SIGMA_PSF * SIGMA_TO_FWHM),
     {"psf_shape": 13}, 2e-6),
    (sampled_gaussian(SIGMA_PSF, 6, 1), {"pixel_response": "sampled"}, 2e-6),
    (CircularGaussianPRF(fwhm=SIGMA_PSF * SIGMA_TO_FWHM), {"oversampling": 3, "psf_shape": 17},
     1e-8),
    (sampled_gaussian(SIGMA_PSF, 16, 2), {"psf_oversampling": 2}, 1e-7),
], ids=["prf-model", "psf-model", "sampled-array", "prf-oversampled-3", "array-oversampled-2"])
def test_gaussian_convolved_with_gaussian_is_analytic(grid, galaxy, gaussian_reference, psf,
                                                      options, rtol):
    conv = PSFConvolvedModel(galaxy, psf, **options)
    image = conv(*grid)
    peak = gaussian_reference.max()
    assert np.abs(image - gaussian_reference).max() < rtol * peak


def test_galfit_pixel_response_counts_the_pixel_twice(grid, galaxy, gaussian_reference):
    prf = CircularGaussianPRF(fwhm=SIGMA_PSF * SIGMA_TO_FWHM)
    image = PSFConvolvedModel(galaxy, prf, psf_shape=13, pixel_response="galfit")(*grid)
    # a pixel box has variance 1/12 per axis: to first order the PSF is that much wider
    wider = pixel_gaussian(1000.0, np.sqrt(SIGMA_GALAXY**2 + SIGMA_PSF**2 + 1 / 12), 15.3, 16.6)
    peak = gaussian_reference.max()
    assert np.abs(image - gaussian_reference).max() > 5e-3 * peak
    assert np.abs(image - wider).max() < 1e-3 * peak
    assert image.sum() == pytest.approx(gaussian_reference.sum(), rel=1e-7)


def test_light_from_outside_the_frame_scatters_in(grid):
    # a source centred one pixel outside the left edge: half its light is in the frame
    outside = galfitax.Gaussian2D(flux=1000.0, fwhm=SIGMA_GALAXY * SIGMA_TO_FWHM, x_0=-1.0,
                                  y_0=16.2)
    reference = pixel_gaussian(1000.0, np.hypot(SIGMA_GALAXY, SIGMA_PSF), -1.0, 16.2)
    psf = CircularGaussianPRF(fwhm=SIGMA_PSF * SIGMA_TO_FWHM)
    image = PSFConvolvedModel(outside, psf, psf_shape=13)(*grid)
    assert image.sum() == pytest.approx(reference.sum(), rel=1e-6)
    np.testing.assert_allclose(image, reference, atol=1e-6 * reference.max())
    # without a convolution box the light outside is missing, but nothing wraps around
    # (the far side only sees the faint ringing of the sharp cut at the frame edge)
    unpadded = PSFConvolvedModel(outside, psf, psf_shape=13, pad=0)(*grid)
    assert unpadded.sum() < 0.8 * reference.sum()
    assert np.abs(unpadded[:, -8:]).max() < 1e-5 * reference.max()


@pytest.mark.parametrize("oversampling, rtol", [(1, 1e-4), (2, 1e-10)])
def test_point_source_is_the_shifted_psf(grid, oversampling, rtol):
    point = galfitax.PointSource2D(flux=500.0, x_0=14.37, y_0=17.81)
    prf = CircularGaussianPRF(fwhm=3.0)
    image = PSFConvolvedModel(point, prf, psf_shape=21, oversampling=oversampling)(*grid)
    reference = CircularGaussianPRF(flux=500.0, x_0=14.37, y_0=17.81, fwhm=3.0)(*grid)
    assert np.abs(image - reference).max() < rtol * reference.max()


def test_batched_rendering_matches_one_by_one(grid):
    import jax

    from galfitax._jax.render import render_plan_grid

    point = galfitax.PointSource2D(flux=500.0, x_0=14.37, y_0=17.81)
    conv = PSFConvolvedModel(point, CircularGaussianPRF(fwhm=3.0), psf_shape=21)
    plan = build_plan(conv)[0]
    batch = np.array([[500.0, 14.37, 17.81], [300.0, 10.2, 11.1], [50.0, -30.0, 70.0]])
    with jax.enable_x64(True):
        images = np.asarray(jax.jit(jax.vmap(
            lambda pvec: render_plan_grid(plan, pvec, 0.0, 0.0, 1.0, SHAPE)))(batch))
    for pvec, image in zip(batch, images):
        conv.parameters = pvec
        np.testing.assert_allclose(image, conv(*grid), rtol=0, atol=1e-12)
    assert np.abs(images[2]).max() < 1e-12  # a PSF that cannot reach the frame adds nothing


def test_point_source_matches_photutils_image_psf(grid):
    oversampling = 4
    y, x = np.mgrid[-40:41, -40:41] / oversampling
    data = CircularGaussianPRF(fwhm=3.0)(x, y)  # a smooth, oversampled ePSF
    point = galfitax.PointSource2D(flux=500.0, x_0=14.37, y_0=17.81)
    image = PSFConvolvedModel(point, ImagePSF(data, oversampling=oversampling))(*grid)
    reference = ImagePSF(data, oversampling=oversampling, flux=500.0, x_0=14.37, y_0=17.81)(*grid)
    assert np.abs(image - reference).max() < 1e-4 * reference.max()
    assert image.sum() == pytest.approx(500.0, rel=1e-6)


def test_oversampled_psf_matches_direct_fine_render(grid):
    """GALFIT fine sampling: render 3x finer, convolve (scipy), bin 3 x 3."""
    factor = 3
    galaxy = galfitax.Gaussian2D(flux=800.0, fwhm=4.0, x_0=15.2, y_0=16.7, ellip=0.4, theta=0.6)
    psf = sampled_gaussian(1.0, 15, factor)
    conv = PSFConvolvedModel(galaxy, psf, psf_oversampling=factor, pixel_response="galfit")
    image = conv(*grid)
    pad = 5
    fine_y, fine_x = np.mgrid[0:(SHAPE[0] + 2 * pad) * factor, 0:(SHAPE[1] + 2 * pad) * factor]
    origin = -pad - 0.5 + 0.5 / factor
    fine = galaxy(origin + fine_x / factor, origin + fine_y / factor)
    convolved = fftconvolve(fine, psf, mode="same")[pad * factor:-pad * factor,
                                                    pad * factor:-pad * factor]
    binned = convolved.reshape(SHAPE[0], factor, SHAPE[1], factor).sum(axis=(1, 3))
    np.testing.assert_allclose(image, binned, rtol=0, atol=1e-10 * binned.max())


@pytest.mark.parametrize("oversampling, rtol", [(1, 2e-3), (3, 2e-4)])
def test_exponential_with_moffat_psf_matches_galsim(grid, oversampling, rtol):
    galsim = pytest.importorskip("galsim")
    from photutils.psf import MoffatPSF

    fwhm, beta = 2.5, 3.5
    alpha = fwhm / (2 * np.sqrt(2 ** (1 / beta) - 1))
    disk = galfitax.Exponential2D(flux=1000.0, r_s=2.0, x_0=15.4, y_0=16.1, ellip=0.3,
                                  theta=0.5)
    image = PSFConvolvedModel(disk, MoffatPSF(alpha=alpha, beta=beta), psf_shape=31,
                              oversampling=oversampling)(*grid)
    params = galsim.GSParams(folding_threshold=1e-4, maxk_threshold=1e-5)
    # GalSim shears conserve area: the major axis of ours is r_s, of GalSim's r_s / sqrt(q)
    profile = galsim.Exponential(flux=1000.0, scale_radius=2.0 * np.sqrt(0.7),
                                 gsparams=params).shear(q=0.7, beta=0.5 * galsim.radians)
    psf = galsim.Moffat(beta=beta, fwhm=fwhm, gsparams=params)
    offset = (15.4 - (SHAPE[1] - 1) / 2, 16.1 - (SHAPE[0] - 1) / 2)
    reference = galsim.Convolve(profile, psf).drawImage(
        nx=SHAPE[1], ny=SHAPE[0], scale=1.0, offset=offset, dtype=np.float64).array
    # at F = 1 the cusp aliases at the pixel scale (GALFIT's convention is ~2% off here);
    # rendering finer converges to GalSim
    assert np.abs(image - reference).max() < rtol * reference.max()


def test_sky_is_not_convolved_and_signs_are_kept(grid, galaxy):
    prf = CircularGaussianPRF(fwhm=SIGMA_PSF * SIGMA_TO_FWHM)
    sky = galfitax.TiltedSky(amplitude=3.0, slope_x=0.05, slope_y=-0.02, x_0=16.0, y_0=16.0)
    point = galfitax.PointSource2D(flux=50.0, x_0=20.2, y_0=8.7)
    model = sky + Const2D(amplitude=1.5) - galaxy - point
    conv = PSFConvolvedModel(model, prf, psf_shape=13)
    expected = (sky(*grid) + 1.5 - PSFConvolvedModel(galaxy, prf, psf_shape=13)(*grid)
                - PSFConvolvedModel(point, prf, psf_shape=13)(*grid))
    np.testing.assert_allclose(conv(*grid), expected, rtol=0, atol=1e-9)
    plan = build_plan(conv)[0]
    assert plan[0] == "conv" and plan[5] is not None and len(plan[4]) == 1


@pytest.fixture(scope="module")
def fast_compound():
    fast = galfitax.IntegrationSettings(subsampling=2, patch_size=1, patch_quadrature=4)
    model = (galfitax.Gaussian2D(flux=900.0, fwhm=4.0, x_0=15.3, y_0=16.2, ellip=0.3, theta=0.4,
                                 integration=fast)
             + galfitax.PointSource2D(flux=300.0, x_0=9.6, y_0=20.3)
             + galfitax.FlatSky(amplitude=2.0))
    return PSFConvolvedModel(model, CircularGaussianPRF(fwhm=2.5), psf_shape=11)


def test_parameters_mirror_the_wrapped_model(fast_compound):
    conv = fast_compound.copy()
    wrapped = conv.model
    assert conv.param_names == wrapped.param_names
    np.testing.assert_array_equal(conv.parameters, wrapped.parameters)
    assert conv.bounds["ellip_0"] == (0.0, 0.99)
    assert conv.fixed["c0_0"] is True
    conv.x_0_1 = 10.1
    conv.flux_0.fixed = True
    conv.y_0_1.tied = lambda model: model.y_0_0
    wrapped = conv.model
    assert float(wrapped.x_0_1.value) == 10.1
    assert wrapped.fixed["flux_0"] is True
    assert wrapped.tied["y_0_1"] is conv.tied["y_0_1"]
    assert wrapped is not conv.model  # a fresh copy each time


def test_copy_pickle_and_compounds(grid, fast_compound):
    image = fast_compound(*grid)
    for clone in (copy.deepcopy(fast_compound), pickle.loads(pickle.dumps(fast_compound))):
        assert clone.param_names == fast_compound.param_names
        np.testing.assert_array_equal(clone(*grid), image)
    total = fast_compound + galfitax.FlatSky(amplitude=1.0)
    assert isinstance(total, galfitax.GalfitaxCompoundModel)
    np.testing.assert_allclose(total(*grid), image + 1.0, rtol=1e-12)
    assert build_plan(total)[2] == len(total.parameters)


def test_derivatives_match_finite_differences(grid, fast_compound):
    conv = fast_compound
    jacobian = conv.fit_deriv(*grid, *conv.parameters)
    base = conv.parameters.copy()
    for index, name in enumerate(conv.param_names):
        if conv.fixed[name]:
            continue
        step = 1e-5 * max(1.0, abs(base[index]))
        up, down = base.copy(), base.copy()
        up[index] += step
        down[index] -= step
        numeric = (conv.evaluate(*grid, *up) - conv.evaluate(*grid, *down)) / (2 * step)
        scale = np.abs(numeric).max()
        np.testing.assert_allclose(jacobian[index], numeric, rtol=0, atol=1e-6 * scale,
                                   err_msg=name)


def test_new_values_do_not_recompile(grid, fast_compound):
    conv = fast_compound.copy()
    conv(*grid)
    conv.fit_deriv(*grid, *conv.parameters)
    before = trace_count()
    for flux in (500.0, 700.0):
        conv.flux_1 = flux
        conv.x_0_1 = 9.0 + flux / 1000.0
        conv(*grid)
        conv.fit_deriv(*grid, *conv.parameters)
    # a new model with the same structure and PSF reuses the compiled function too
    PSFConvolvedModel(conv.model, CircularGaussianPRF(fwhm=2.5), psf_shape=11)(*grid)
    assert trace_count() == before


def test_astropy_fitter_recovers_the_truth(grid, fast_compound):
    from astropy.modeling.fitting import TRFLSQFitter

    image = fast_compound(*grid)
    start = fast_compound.copy()
    for name, change in (("flux_0", 0.8), ("fwhm_0", 1.2), ("flux_1", 0.7)):
        setattr(start, name, getattr(start, name).value * change)
    start.x_0_1 = start.x_0_1.value + 0.3
    start.y_0_0 = start.y_0_0.value - 0.2
    fitted = TRFLSQFitter()(start, *grid, image)
    np.testing.assert_allclose(fitted.parameters, fast_compound.parameters, rtol=1e-6,
                               atol=1e-6)


def test_unsupported_structures_are_rejected(grid, fast_compound):
    point = galfitax.PointSource2D(flux=1.0, x_0=3.0, y_0=3.0)
    with pytest.raises(InvalidModelError, match="point source inside a product"):
        PSFConvolvedModel(point * Const2D(amplitude=2.0), CircularGaussianPRF(fwhm=2.0))
    with pytest.raises(InvalidModelError, match="cannot contain another"):
        PSFConvolvedModel(fast_compound + point, CircularGaussianPRF(fwhm=2.0))
    with pytest.raises(InvalidModelError, match="wraps an astropy model"):
        PSFConvolvedModel(np.ones((3, 3)), CircularGaussianPRF(fwhm=2.0))
    fine_y, fine_x = np.mgrid[0:64, 0:64] / 2.0
    with pytest.raises(InvalidModelError, match="grid spacing 1"):
        fast_compound(fine_x, fine_y)
    with pytest.raises(NotImplementedError, match="regular pixel grid"):
        fast_compound(np.array([1.0, 5.0, 2.0]), np.array([3.0, 1.0, 7.0]))
