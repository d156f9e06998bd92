"""The coarse first fit on 2 x 2-binned pixels (galfitax._jax.coarse, LevMarFitter coarse_start)."""

import numpy as np
import pytest

from galfitax import FlatSky, LevMarFitter, PointSource2D, PSFConvolvedModel, Sersic2D
from galfitax._jax.coarse import bin_kernel, coarse_plan, coarse_problem
from galfitax._jax.objective import TermData, TermSpec
from galfitax._jax.precision import x64
from galfitax._jax.render import render_plan_grid
from galfitax.exceptions import InvalidParameterError
from galfitax.models.core import model_plan
from galfitax.psf import PSFKernel

SHAPE = (64, 80)


def gaussian_psf(sigma=2.0, half=9):
    y, x = np.mgrid[-half:half + 1, -half:half + 1]
    psf = np.exp(-(x**2 + y**2) / (2 * sigma**2))
    return psf / psf.sum()


def galaxy(flux=2e4, r_eff=6.0, n=1.5, x_0=40.3, y_0=30.6, ellip=0.35, theta=0.7, sky=2.0,
           psf=None, pixel_response="integrated"):
    model = (Sersic2D(flux=flux, r_eff=r_eff, n=n, x_0=x_0, y_0=y_0, ellip=ellip, theta=theta)
             + FlatSky(amplitude=sky))
    return PSFConvolvedModel(model, gaussian_psf() if psf is None else psf,
                             pixel_response=pixel_response)


def moments(array):
    y, x = np.indices(array.shape)
    total = array.sum()
    cx, cy = (array * x).sum() / total, (array * y).sum() / total
    return total, cx, cy, (array * (x - cx) ** 2).sum() / total


def test_binned_kernel_is_centred_with_the_variance_of_a_two_pixel_box():
    kernel = PSFKernel(gaussian_psf(sigma=3.0, half=15))
    _, _, _, fine_variance = moments(kernel.array)
    binned = bin_kernel(kernel)
    assert binned.shape == (17, 17)
    assert binned.oversampling == 1 and binned.pixel_response == "integrated"
    total, cx, cy, variance = moments(binned.array)
    assert total == pytest.approx(1.0, abs=1e-14)
    assert (cx, cy) == (pytest.approx(8.0, abs=1e-12), pytest.approx(8.0, abs=1e-12))
    # the two-pixel box adds 1/4 pixel^2 to the one-pixel one; coarse pixels are 2 pixels
    assert variance == pytest.approx((fine_variance + 0.25) / 4.0, rel=1e-6)


@pytest.mark.parametrize("pixel_response, shape", [("integrated", (7, 9)), ("galfit", (5, 7))])
def test_binned_kernel_keeps_oversampling_and_odd_sizes(pixel_response, shape):
    y, x = np.mgrid[-4:5, -6:7]
    psf = np.exp(-(x**2 + y**2) / 10.0)
    kernel = PSFKernel(psf / psf.sum(), oversampling=3, pixel_response=pixel_response)
    binned = bin_kernel(kernel)
    # an integrated PSF's two-pixel box reaches half a pixel (2 samples) farther
    assert binned.shape == shape
    assert binned.oversampling == 3 and binned.pixel_response == pixel_response
    total, cx, cy, _ = moments(binned.array)
    assert total == pytest.approx(1.0, abs=1e-14)
    assert (cy, cx) == (pytest.approx(shape[0] // 2, abs=1e-12),
                        pytest.approx(shape[1] // 2, abs=1e-12))


@pytest.mark.parametrize("pixel_response", ["integrated", "sampled", "galfit"])
def test_coarse_render_of_a_smooth_galaxy_is_the_block_sums_of_the_full_render(pixel_response):
    # a Gaussian galaxy (n = 0.5) and PSF: smooth enough for the binned pixels, so the
    # coarse model equals the block sums (grid origin, pixel size, kernel centring and
    # normalisation all right); a cusp is close only (aliasing on the larger pixels)
    model = galaxy(pixel_response=pixel_response, n=0.5)
    plan, _ = model_plan(model)
    pvec = np.asarray(model.parameters, dtype=float)
    with x64():
        fine = np.asarray(render_plan_grid(plan, pvec, 0.0, 0.0, 1.0, SHAPE))
        coarse = np.asarray(render_plan_grid(coarse_plan(plan), pvec, 0.5, 0.5, 2.0,
                                             (SHAPE[0] // 2, SHAPE[1] // 2)))
    sums = fine.reshape(SHAPE[0] // 2, 2, SHAPE[1] // 2, 2).sum(axis=(1, 3))
    assert np.max(np.abs(coarse - sums)) < 1e-5 * np.max(sums)
    assert coarse.sum() == pytest.approx(sums.sum(), rel=1e-5)


def test_coarse_render_puts_a_point_source_where_it_belongs():
    model = PSFConvolvedModel(PointSource2D(flux=1e4, x_0=30.3, y_0=21.8), gaussian_psf())
    plan, _ = model_plan(model)
    pvec = np.asarray(model.parameters, dtype=float)
    with x64():
        coarse = np.asarray(render_plan_grid(coarse_plan(plan), pvec, 0.5, 0.5, 2.0, (32, 40)))
    total, cx, cy, _ = moments(coarse)
    # the PSF (sigma = 1 coarse pixel) is shifted by band-limited interpolation: not exact
    assert total == pytest.approx(1e4, rel=1e-3)
    # coarse pixel j is centred on x = 2 j + 0.5
    assert 2 * cx + 0.5 == pytest.approx(30.3, abs=2e-3)
    assert 2 * cy + 0.5 == pytest.approx(21.8, abs=2e-3)


def test_coarse_problem_bins_data_weights_and_grid():
    model = Sersic2D(flux=1e3, r_eff=2.0) + FlatSky(amplitude=1.0)
    plan, _ = model_plan(model)
    spec = TermSpec(plan, (7, 9), 1.0, tuple(range(len(model.parameters))))
    rng = np.random.default_rng(3)
    data = rng.normal(size=(7, 9))
    weight = rng.uniform(0.5, 2.0, size=(7, 9))
    weight[1, 2] = 0.0  # masked
    term = TermData(data, weight, np.float64(10.0), np.float64(20.0), np.float64(3.0))
    coarse_spec, coarse_term = coarse_problem(spec, term, "chi2")
    assert coarse_spec.shape == (3, 4) and coarse_spec.h == 2.0
    assert coarse_spec.index == spec.index
    assert coarse_term.data[1, 2] == pytest.approx(data[2:4, 4:6].sum())
    expected = 1.0 / np.sqrt(np.sum(weight[2:4, 4:6] ** -2.0))
    assert coarse_term.weight[1, 2] == pytest.approx(expected)
    assert coarse_term.weight[0, 1] == 0.0 and np.count_nonzero(coarse_term.weight == 0) == 1
    assert (coarse_term.x_start, coarse_term.y_start) == (10.5, 20.5)
    assert coarse_term.sky == 12.0
    _, cash_term = coarse_problem(spec, term, "cash")
    assert set(np.unique(cash_term.weight)) == {0.0, 1.0}
    # the input arrays are untouched
    assert weight[1, 2] == 0.0 and data.shape == (7, 9)


def test_coarse_problem_declines_what_it_cannot_bin():
    model = galaxy(psf=gaussian_psf(half=12))
    plan, _ = model_plan(model)
    index = tuple(range(len(model.parameters)))
    term = TermData(np.zeros((40, 40)), np.ones((40, 40)), np.float64(0), np.float64(0),
                    np.float64(0))
    # a 25-pixel PSF binned to 13 coarse pixels fits 20 x 20 coarse pixels, not 12 x 12
    assert coarse_problem(TermSpec(plan, (40, 40), 1.0, index), term, "chi2") is not None
    small = TermData(np.zeros((24, 24)), np.ones((24, 24)), np.float64(0), np.float64(0),
                     np.float64(0))
    assert coarse_problem(TermSpec(plan, (24, 24), 1.0, index), small, "chi2") is None
    assert coarse_plan(("band", 0, plan)) is None
    # every other column bad: every block holds a masked pixel
    striped = np.ones((40, 40))
    striped[:, ::2] = 0.0
    bad_columns = TermData(np.zeros((40, 40)), striped, np.float64(0), np.float64(0),
                           np.float64(0))
    assert coarse_problem(TermSpec(plan, (40, 40), 1.0, index), bad_columns, "chi2") is None


@pytest.fixture(scope="module")
def noisy_image():
    y, x = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    clean = galaxy()(x, y)
    sigma = np.sqrt(clean + 25.0)
    data = clean + np.random.default_rng(11).normal(size=SHAPE) * sigma
    return data, sigma


@pytest.mark.parametrize("statistic", ["chi2", "cash"])
def test_coarse_start_reaches_the_full_resolution_minimum(noisy_image, statistic):
    data, sigma = noisy_image
    start = galaxy(flux=1.2e4, r_eff=9.0, n=3.0, x_0=41.5, y_0=29.0, ellip=0.2, theta=0.4,
                   sky=0.0)
    mask = np.zeros(SHAPE, dtype=bool)
    mask[10:13, 5:60] = True
    if statistic == "cash":
        data = np.round(np.clip(data, 0, None))
    fits = {}
    for coarse in (False, True):
        fitter = LevMarFitter(statistic, coarse_start=coarse)
        errors = {} if statistic == "cash" else {"sigma": sigma}
        fitted = fitter.fit_image(start, data, mask=mask, **errors)
        fits[coarse] = fitted, dict(fitter.fit_info)
    (direct, info_direct), (staged, info_staged) = fits[False], fits[True]
    assert info_direct["coarse_nfev"] == 0 and info_staged["coarse_nfev"] > 0
    assert info_staged["converged"]
    assert info_staged["statistic_value"] == pytest.approx(info_direct["statistic_value"],
                                                           rel=1e-9)
    for name in info_direct["param_names"]:
        assert abs(getattr(staged, name).value - getattr(direct, name).value) < (
            1e-3 * direct.stds[name]), name
    # the full-resolution part only polishes
    assert info_staged["nfev"] < info_direct["nfev"]


def test_coarse_start_option(noisy_image):
    data, sigma = noisy_image
    fitter = LevMarFitter()
    fitter.fit_image(galaxy(), data, sigma=sigma)
    # 64 x 80 pixels: below the automatic threshold
    assert fitter.fit_info["coarse_nfev"] == 0
    with pytest.raises(InvalidParameterError, match="'yes'"):
        LevMarFitter(coarse_start="yes")


def test_automatic_coarse_start_is_for_large_images_short_of_huge_jacobians():
    from galfitax.fitting.fitter import COARSE_MAX_JACOBIAN, COARSE_START_PIXELS, _use_coarse_start

    plan, _ = model_plan(galaxy())

    def spec(shape):
        return TermSpec(plan, shape, 1.0, tuple(range(8)))

    assert (COARSE_START_PIXELS, COARSE_MAX_JACOBIAN) == (2**15, 2**26)
    assert not _use_coarse_start("auto", spec((128, 128)), 8)
    assert _use_coarse_start("auto", spec((200, 200)), 8)
    assert _use_coarse_start("auto", spec((512, 512)), 15)
    assert _use_coarse_start("auto", spec((2048, 2048)), 8)
    # a second large compiled program would raise the peak memory
    assert not _use_coarse_start("auto", spec((2048, 2048)), 35)
    assert _use_coarse_start(True, spec((2048, 2048)), 35)
    assert not _use_coarse_start(False, spec((512, 512)), 8)
