"""Batch mode: N stamps fitted by one compiled program (threads or vmap) == N separate fits."""

import numpy as np
import pytest

from galfitax import LevMarFitter, Sersic2D
from galfitax._jax.render import trace_count

SHAPE = (64, 64)


def truth(k):
    return Sersic2D(flux=2.0e4 + 3e3 * k, r_eff=5.0 + k, n=1.5 + 0.5 * k, x_0=31.3 + 0.4 * k,
                    y_0=32.6 - 0.3 * k, ellip=0.2 + 0.1 * k, theta=0.5 + 0.3 * k)


@pytest.fixture(scope="module")
def stamps():
    y, x = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    rng = np.random.default_rng(21)
    images, sigmas, masks, starts = [], [], [], []
    for k in range(3):
        clean = truth(k)(x, y)
        sigma = np.sqrt(clean + 125.0)
        images.append(clean + rng.normal(0.0, 1.0, SHAPE) * sigma)
        sigmas.append(sigma)
        mask = np.zeros(SHAPE, dtype=bool)
        mask[5 + 10 * k, :20] = True
        masks.append(mask)
        start = truth(k)
        start.flux, start.r_eff, start.n = 1.5e4, 4.0 + 2 * k, 2.5
        starts.append(start.parameters)
    return np.array(images), np.array(sigmas), np.array(masks), np.array(starts)


def test_batch_equals_loop(stamps):
    images, sigmas, masks, starts = stamps
    template = Sersic2D(flux=1.0, r_eff=3.0, n=2.0, x_0=32.0, y_0=32.0, ellip=0.1, theta=0.1)
    batch_fitter = LevMarFitter()
    fitted = batch_fitter.fit_batch(template, images, sigmas=sigmas, masks=masks,
                                    initial_parameters=starts)
    info = batch_fitter.fit_info
    assert info["converged"].all()
    before = trace_count()
    for k in range(len(images)):
        start = template.copy()
        start.parameters = starts[k]
        single = LevMarFitter()
        one = single.fit_image(start, images[k], sigma=sigmas[k], mask=masks[k])
        np.testing.assert_allclose(fitted[k].parameters, one.parameters, rtol=1e-8)
        np.testing.assert_allclose(info["chi2"][k], single.fit_info["chi2"], rtol=1e-8)
        np.testing.assert_allclose(info["param_cov"][k], single.fit_info["param_cov"],
                                   rtol=1e-6)
        assert info["n_iter"][k] == single.fit_info["n_iter"]
        np.testing.assert_allclose(fitted[k].stds.stds, one.stds.stds, rtol=1e-6)
    assert trace_count() - before <= 1  # the loop compiles the unbatched program at most once
    again = batch_fitter.fit_batch(template, images[::-1], sigmas=sigmas[::-1],
                                   masks=masks[::-1], initial_parameters=starts[::-1])
    np.testing.assert_allclose(again[0].parameters, fitted[2].parameters, rtol=1e-8)


@pytest.mark.parametrize("slots", [1, 2])
def test_fewer_slots_than_stamps_give_the_same_fits(stamps, slots):
    # stamps finish at different iterations and hand their slot to the next one
    images, sigmas, masks, starts = stamps
    starts = starts.copy()
    starts[1, 1] *= 3.0  # a poorer r_eff start: this stamp needs more iterations
    template = Sersic2D(flux=1.0, r_eff=3.0, n=2.0, x_0=32.0, y_0=32.0, ellip=0.1, theta=0.1)
    all_at_once = LevMarFitter()
    reference = all_at_once.fit_batch(template, images, sigmas=sigmas, masks=masks,
                                      initial_parameters=starts, slots=len(images))
    streamed = LevMarFitter()
    fitted = streamed.fit_batch(template, images, sigmas=sigmas, masks=masks,
                                initial_parameters=starts, slots=slots)
    assert len(set(all_at_once.fit_info["n_iter"])) > 1  # the refill path is exercised
    for k in range(len(images)):
        np.testing.assert_allclose(fitted[k].parameters, reference[k].parameters, rtol=1e-10)
    np.testing.assert_array_equal(streamed.fit_info["n_iter"], all_at_once.fit_info["n_iter"])
    np.testing.assert_allclose(streamed.fit_info["param_cov"], all_at_once.fit_info["param_cov"],
                               rtol=1e-8)
    # fewer stamps than slots: spare slots repeat a stamp, and the program is reused
    before = trace_count()
    one = streamed.fit_batch(template, images[2:], sigmas=sigmas[2:], masks=masks[2:],
                             initial_parameters=starts[2:], slots=slots)
    assert trace_count() == before
    assert len(one) == 1
    np.testing.assert_allclose(one[0].parameters, reference[2].parameters, rtol=1e-10)


@pytest.mark.parametrize("slots", [2, None])
def test_cash_batch_equals_separate_fits(stamps, slots):
    # the Poisson Fisher matrix is computed per stamp after the fits (vmap with 2 slots:
    # padded chunks; None: threads on a CPU)
    images, _, masks, starts = stamps
    counts = np.maximum(np.round(images), 0.0)
    template = Sersic2D(flux=1.0, r_eff=3.0, n=2.0, x_0=32.0, y_0=32.0, ellip=0.1, theta=0.1)
    batch_fitter = LevMarFitter(statistic="cash")
    fitted = batch_fitter.fit_batch(template, counts, masks=masks, initial_parameters=starts,
                                    sky=125.0, slots=slots)
    for k in range(len(counts)):
        start = template.copy()
        start.parameters = starts[k]
        single = LevMarFitter(statistic="cash")
        one = single.fit_image(start, counts[k], mask=masks[k], sky=125.0)
        np.testing.assert_allclose(fitted[k].parameters, one.parameters, rtol=1e-8)
        np.testing.assert_allclose(batch_fitter.fit_info["param_cov"][k],
                                   single.fit_info["param_cov"], rtol=1e-6)


def test_threads_give_the_fits_of_one_thread(stamps):
    images, sigmas, masks, starts = stamps
    template = Sersic2D(flux=1.0, r_eff=3.0, n=2.0, x_0=32.0, y_0=32.0, ellip=0.1, theta=0.1)
    serial, threaded = LevMarFitter(), LevMarFitter()
    one = serial.fit_batch(template, images, sigmas=sigmas, masks=masks,
                           initial_parameters=starts, workers=1)
    before = trace_count()
    many = threaded.fit_batch(template, images, sigmas=sigmas, masks=masks,
                              initial_parameters=starts, workers=3)
    assert trace_count() == before  # the threads share the compiled program
    for a, b in zip(one, many):
        np.testing.assert_array_equal(a.parameters, b.parameters)
    np.testing.assert_array_equal(serial.fit_info["param_cov"], threaded.fit_info["param_cov"])
    np.testing.assert_array_equal(serial.fit_info["nfev"], threaded.fit_info["nfev"])


@pytest.mark.parametrize(("options", "match"), [
    (dict(slots=2, workers=2), "not both"),
    (dict(workers=0), "workers must be a positive integer"),
    (dict(workers=1.5), "workers must be a positive integer"),
])
def test_batch_mode_options_are_checked(stamps, options, match):
    from galfitax.exceptions import InvalidParameterError

    images, sigmas, _, _ = stamps
    template = Sersic2D(flux=1.0, r_eff=3.0, n=2.0, x_0=32.0, y_0=32.0, ellip=0.1, theta=0.1)
    with pytest.raises(InvalidParameterError, match=match):
        LevMarFitter().fit_batch(template, images, sigmas=sigmas, **options)


def test_default_workers_respect_the_memory_budget():
    from galfitax.fitting.fitter import _THREAD_MEMORY, _available_cores, _batch_workers

    assert _batch_workers(None, (64, 64), 7) == min(_available_cores(),
                                                    _THREAD_MEMORY // (8 * 64 * 64 * 7))
    # 2048 x 2048 with 35 free parameters: one Jacobian is over the budget, one thread
    assert _batch_workers(None, (2048, 2048), 35) == 1
    assert _batch_workers(5, (2048, 2048), 35) == 5


@pytest.mark.parametrize("shape", [(0, 64, 64), (64, 64)])
def test_batch_rejects_an_empty_or_single_image_stack(shape):
    from galfitax.exceptions import InvalidImageError

    template = Sersic2D(flux=1.0, r_eff=3.0, n=2.0, x_0=32.0, y_0=32.0, ellip=0.1, theta=0.1)
    with pytest.raises(InvalidImageError, match=r"N >= 1, got shape \(" + str(shape[0])):
        LevMarFitter().fit_batch(template, np.zeros(shape))
