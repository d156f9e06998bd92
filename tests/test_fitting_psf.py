"""LevMarFitter on PSF-convolved models (the generic plan machinery, no special code)."""

import numpy as np
import pytest

from galfitax import FlatSky, LevMarFitter, PSFConvolvedModel, Sersic2D

SHAPE = (48, 48)


def moffat_psf(size=15, fwhm=3.0, beta=3.0):
    y, x = np.mgrid[0:size, 0:size] - size // 2
    alpha = fwhm / (2 * np.sqrt(2 ** (1 / beta) - 1))
    psf = (1 + (x**2 + y**2) / alpha**2) ** -beta
    return psf / psf.sum()


def convolved(flux, r_eff, n, x_0, y_0, ellip, theta, sky):
    galaxy = Sersic2D(flux=flux, r_eff=r_eff, n=n, x_0=x_0, y_0=y_0, ellip=ellip, theta=theta)
    return PSFConvolvedModel(galaxy + FlatSky(amplitude=sky), moffat_psf())


@pytest.fixture(scope="module")
def grid():
    y, x = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    return x, y


@pytest.fixture(scope="module")
def truth():
    return convolved(9000.0, 3.0, 2.5, 23.4, 24.7, 0.4, 2.0, 1.5)


@pytest.fixture(scope="module")
def start():
    return convolved(6000.0, 4.5, 1.5, 24.5, 23.5, 0.2, 1.8, 0.0)


def test_noiseless_psf_fit_recovers_truth(grid, truth, start):
    image = truth(*grid)
    fitter = LevMarFitter()
    fitted = fitter(start, *grid, image, sigma=np.sqrt(image + 20.0))
    assert fitter.fit_info["converged"]
    np.testing.assert_allclose(fitted.parameters, truth.parameters, rtol=1e-6, atol=1e-7)


def test_noisy_psf_fit_with_mask(grid, truth, start):
    clean = truth(*grid)
    sigma = np.sqrt(clean + 20.0)
    data = clean + np.random.default_rng(8).normal(0.0, 1.0, SHAPE) * sigma
    mask = np.zeros(SHAPE, dtype=bool)
    mask[30:33, 5:40] = True
    data[mask] = 5e4
    fitter = LevMarFitter()
    fitted = fitter(start, *grid, data, sigma=sigma, mask=mask)
    info = fitter.fit_info
    assert info["converged"] and 0.85 < info["chi2_nu"] < 1.15
    for name in info["param_names"]:
        pull = (getattr(fitted, name).value - getattr(truth, name).value) / fitted.stds[name]
        assert abs(pull) < 4, (name, pull)
