"""Joint multiband fits: noiseless recovery, equality with single-band fits, no recompiles."""

import numpy as np
import pytest
from scipy.signal import fftconvolve

from galfitax import LevMarFitter, PSFConvolvedModel, Sersic2D
from galfitax._jax.render import trace_count
from galfitax.multiband import Band, MultiBandFitter, MultiBandModel

SHAPE = (40, 40)
WAVELENGTHS = (4000.0, 6000.0, 8000.0)
R_EFF = (4.0, 4.6, 5.2)  # linear in wavelength
N = (1.5, 2.0, 2.5)
FLUX = (900.0, 1500.0, 2000.0)
FWHM = (3.2, 2.8, 2.4)


def gaussian_psf(fwhm, half=7):
    y, x = np.mgrid[-half:half + 1, -half:half + 1]
    sigma = fwhm / 2.3548
    psf = np.exp(-(x**2 + y**2) / (2 * sigma**2))
    return psf / psf.sum()


def truth(b, shift=(0.0, 0.0)):
    return Sersic2D(flux=FLUX[b], r_eff=R_EFF[b], n=N[b], x_0=19.3 + shift[0],
                    y_0=20.6 + shift[1], ellip=0.35, theta=0.8)


def start():
    return Sersic2D(flux=1200.0, r_eff=5.0, n=2.2, x_0=20.0, y_0=20.0, ellip=0.25, theta=0.6)


def render(shifts=((0.0, 0.0),) * 3):
    """Truth images convolved independently (scipy) as GALFIT does: pixel integrals * PSF."""
    pad = 7
    y, x = np.mgrid[-pad:SHAPE[0] + pad, -pad:SHAPE[1] + pad]
    inner = (slice(pad, pad + SHAPE[0]), slice(pad, pad + SHAPE[1]))
    return [fftconvolve(truth(b, shifts[b])(x, y), gaussian_psf(FWHM[b]), mode="same")[inner]
            for b in range(3)]


@pytest.fixture(scope="module")
def images():
    return render()


def make_bands(images, sigma=1.0, noise_seed=None):
    rng = np.random.default_rng(noise_seed)
    bands = []
    for b, image in enumerate(images):
        data = image if noise_seed is None else image + sigma * rng.normal(size=SHAPE)
        bands.append(Band(data, WAVELENGTHS[b], sigma=np.full(SHAPE, sigma),
                          psf=gaussian_psf(FWHM[b]), pixel_response="galfit", name="gri"[b],
                          zeropoint=25.0))
    return bands


@pytest.fixture(scope="module")
def noiseless_fit(images):
    bands = make_bands(images)
    fitter = MultiBandFitter()
    fitted = fitter(MultiBandModel(start(), bands=bands), bands)
    return fitted, fitter.fit_info, bands


def test_noiseless_recovery_with_linear_size_and_index(noiseless_fit):
    fitted, info, _ = noiseless_fit
    assert info["converged"]
    table = fitted.band_table()
    assert np.allclose(table["r_eff"], R_EFF, rtol=1e-5)
    assert np.allclose(table["n"], N, rtol=1e-5)
    assert np.allclose(table["flux"], FLUX, rtol=1e-6)
    assert np.allclose(table["x_0"], 19.3, atol=1e-6)
    assert info["chi2"] < 1e-6
    assert len(info["band_chi2"]) == 3 and info["dof"] == 3 * 1600 - len(fitted.coeff_names)
    assert all(image.shape == SHAPE for image in info["model_images"])
    # the fitted model's band models render the fitted images
    assert fitted.fit_info is info


def test_refit_with_other_data_does_not_recompile(noiseless_fit, images):
    fitted, _, _ = noiseless_fit
    bands = make_bands(images, sigma=2.0, noise_seed=1)
    before = trace_count()
    MultiBandFitter()(MultiBandModel(start(), bands=bands), bands)
    assert trace_count() == before


def test_free_in_every_band_equals_independent_single_band_fits(noiseless_fit, images):
    bands = make_bands(images, sigma=2.0, noise_seed=7)
    everything_free = {name: "band" for name in ("flux", "r_eff", "n", "x_0", "y_0", "ellip",
                                                 "theta")}
    fitter = MultiBandFitter()
    joint = fitter(MultiBandModel(start(), bands=bands, freedom=everything_free), bands)
    assert fitter.fit_info["converged"]
    table = joint.band_table()
    single_fitter = LevMarFitter()
    single = single_fitter.fit_image(
        PSFConvolvedModel(start(), bands[0].psf, pixel_response="galfit"), bands[0].data,
        sigma=bands[0].sigma)
    stds = dict(zip(single.stds.param_names, single.stds.stds))
    for name in ("flux", "r_eff", "n", "x_0", "ellip", "theta"):
        assert table[name][0] == pytest.approx(getattr(single, name).value, rel=1e-5, abs=1e-7)
        assert table[f"{name}_std"][0] == pytest.approx(stds[name], rel=1e-3)
    assert fitter.fit_info["band_chi2"][0] == pytest.approx(single_fitter.fit_info["chi2"],
                                                            rel=1e-6)


def test_parameters_stay_within_limits_in_every_band(noiseless_fit, images):
    # a start far off: the polynomial n must not leave [0.2, 10] in any band on the way
    bands = make_bands(images, sigma=2.0, noise_seed=3)
    model = MultiBandModel(start(), bands=bands, values={"n": [0.4, 5.0, 9.5]})
    fitted = MultiBandFitter()(model, bands)
    values = fitted.band_parameters()
    assert np.all((values[:, 2] >= 0.2) & (values[:, 2] <= 10.0))
    assert np.all(values[:, 1] > 0)


def test_position_offsets_recover_band_registration_errors():
    shifts = ((0.0, 0.0), (0.0, 0.0), (0.3, -0.2))
    bands = make_bands(render(shifts))
    fitted = MultiBandFitter()(MultiBandModel(start(), bands=bands, position_offsets=True),
                               bands)
    coeffs = dict(zip(fitted.coeff_names, fitted.coefficients))
    assert coeffs["dx_i"] == pytest.approx(0.3, abs=1e-5)
    assert coeffs["dy_i"] == pytest.approx(-0.2, abs=1e-5)
    assert coeffs["dx_r"] == pytest.approx(0.0, abs=1e-5)
    assert coeffs["x_0"] == pytest.approx(19.3, abs=1e-5)
    assert np.allclose(fitted.band_table()["r_eff"], R_EFF, rtol=1e-5)
