"""LevMarFitter on single Sersic images: recovery, errors, masks, bounds, caching, Cash.

All fits here share one model structure and image shape (Sersic2D, 64 x 64),
so the fit program is compiled once for chi2 and once for Cash.
"""

import logging
import re
import warnings
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from astropy.io import fits

import galfitax
from galfitax import LevMarFitter, Sersic2D
from galfitax._jax import lm
from galfitax._jax.precision import x64
from galfitax._jax.render import trace_count
from galfitax.exceptions import ConvergenceWarning, InvalidImageError
from galfitax.fitting import sigma_from_data

SHAPE = (64, 64)
SKY = 100.0
FREE = ("flux", "r_eff", "n", "x_0", "y_0", "ellip", "theta")
DATA = Path(__file__).parent / "data"


def truth_model():
    return Sersic2D(flux=2.5e4, r_eff=6.0, n=2.2, x_0=31.3, y_0=32.6, ellip=0.35, theta=0.7)


def start_model():
    return Sersic2D(flux=1.8e4, r_eff=8.0, n=3.0, x_0=32.0, y_0=32.0, ellip=0.2, theta=0.5)


@pytest.fixture(scope="module")
def grid():
    y, x = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    return x, y


@pytest.fixture(scope="module")
def clean(grid):
    return truth_model()(*grid)


@pytest.fixture(scope="module")
def sigma(clean):
    return np.sqrt(clean + SKY + 25.0)


def noisy(clean, sigma, seed):
    return clean + np.random.default_rng(seed).normal(0.0, 1.0, clean.shape) * sigma


@pytest.fixture(scope="module")
def noisy_fit(grid, clean, sigma):
    fitter = LevMarFitter()
    data = noisy(clean, sigma, 1)
    fitted = fitter(start_model(), *grid, data, sigma=sigma)
    return fitter, fitted, data


def test_noiseless_recovery(grid, clean, sigma):
    fitter = LevMarFitter()
    fitted = fitter(start_model(), *grid, clean, sigma=sigma)
    np.testing.assert_allclose(fitted.parameters, truth_model().parameters, rtol=1e-7, atol=1e-8)
    info = fitter.fit_info
    assert info["converged"]
    assert info["chi2"] < 1e-8
    assert info["dof"] == SHAPE[0] * SHAPE[1] - 7
    assert info["param_names"] == list(FREE)


def test_noisy_recovery_within_errors(noisy_fit):
    fitter, fitted, _ = noisy_fit
    truth = truth_model()
    assert fitter.fit_info["converged"]
    for name in FREE:
        pull = (getattr(fitted, name).value - getattr(truth, name).value) / fitted.stds[name]
        assert abs(pull) < 4, (name, pull)
    assert 0.9 < fitter.fit_info["chi2_nu"] < 1.1
    assert fitted is not None and fitted.stds.param_names == list(FREE)


def test_chi2_and_dof_match_numpy(noisy_fit, grid, sigma):
    fitter, fitted, data = noisy_fit
    chi2 = np.sum(((data - fitted(*grid)) / sigma) ** 2)
    np.testing.assert_allclose(fitter.fit_info["chi2"], chi2, rtol=1e-10)
    np.testing.assert_allclose(fitter.fit_info["chi2_nu"], chi2 / (data.size - 7), rtol=1e-10)
    # the fit's own best-fit image is the fitted model evaluated on the grid
    model = fitted(*grid)
    np.testing.assert_allclose(fitter.fit_info["model_image"], model, rtol=0,
                               atol=1e-12 * model.max())


def test_covariance_matches_finite_difference_fisher(noisy_fit, grid, sigma):
    """Covariance = inverse Fisher matrix from a numpy central-difference Jacobian."""
    fitter, fitted, _ = noisy_fit
    base = fitted.parameters.copy()
    columns = []
    for name in FREE:
        index = fitted.param_names.index(name)
        step = 1e-5 * max(abs(base[index]), 1.0)
        images = []
        for sign in (1, -1):
            probe = fitted.copy()
            probe.parameters = base + sign * step * (np.arange(base.size) == index)
            images.append(probe(*grid))
        columns.append(((images[0] - images[1]) / (2 * step) / sigma).ravel())
    jac = np.stack(columns, axis=1)
    expected = np.linalg.inv(jac.T @ jac)
    norm = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    np.testing.assert_allclose(fitter.fit_info["param_cov"] / norm, expected / norm, atol=1e-5)
    np.testing.assert_allclose(np.diag(fitted.cov_matrix.cov_matrix), np.diag(expected),
                               rtol=1e-5)


def test_second_image_does_not_recompile(noisy_fit, grid, clean, sigma):
    fitter = LevMarFitter()
    before = trace_count()
    fitter(start_model(), *grid, noisy(clean, sigma, 2), sigma=sigma, ftol=1e-9)
    assert trace_count() == before


def test_mask_ignores_garbage(noisy_fit, grid, sigma):
    _, _, data = noisy_fit
    mask = np.zeros(SHAPE, dtype=bool)
    mask[10:14, :] = True
    mask[40, 40] = True
    fits_ = []
    for garbage in (1e4, -400.0, np.nan):
        corrupted = data.copy()
        corrupted[mask] = garbage
        fitter = LevMarFitter()
        fits_.append(fitter(start_model(), *grid, corrupted, sigma=sigma, mask=mask).parameters)
        assert fitter.fit_info["n_good"] == SHAPE[0] * SHAPE[1] - mask.sum()
    np.testing.assert_allclose(fits_[1], fits_[0], rtol=1e-9)
    np.testing.assert_allclose(fits_[2], fits_[0], rtol=1e-9)


def test_region_equals_cutout(clean, sigma):
    """A fit region of a larger frame = the same pixels passed as a cut-out grid."""
    big = np.zeros((80, 80))
    big_sigma = np.full((80, 80), 1e3)
    big[8:72, 8:72] = noisy(clean, sigma, 3)
    big_sigma[8:72, 8:72] = sigma
    shifted = start_model()
    shifted.x_0, shifted.y_0 = 40.0, 40.0
    fitter = LevMarFitter()
    yy, xx = np.mgrid[0:80, 0:80]
    in_region = fitter(shifted, xx, yy, big, sigma=big_sigma, region=np.s_[8:72, 8:72])
    cut = LevMarFitter()(shifted, xx[8:72, 8:72], yy[8:72, 8:72], big[8:72, 8:72],
                         sigma=big_sigma[8:72, 8:72])
    np.testing.assert_allclose(in_region.parameters, cut.parameters, rtol=1e-10)
    assert fitter.fit_info["n_good"] == 64 * 64


def test_bounds_respected_and_no_sigma_on_bound(noisy_fit, grid, sigma):
    _, _, data = noisy_fit
    start = start_model()
    start.r_eff.bounds = (1.0, 5.0)  # truth 6.0: the fit must stop on the bound
    start.r_eff = 4.0
    fitter = LevMarFitter()
    fitted = fitter(start, *grid, data, sigma=sigma)
    assert fitted.r_eff.value == 5.0
    assert fitter.fit_info["at_bounds"] == ["r_eff"]
    assert "r_eff" in fitter.fit_info["note"]
    assert fitted.stds["r_eff"] is None
    assert np.isnan(fitter.fit_info["param_cov"][1]).all()
    assert all(fitted.stds[name] > 0 for name in FREE if name != "r_eff")


def test_not_converged_warns(grid, clean, sigma):
    fitter = LevMarFitter()
    with pytest.warns(ConvergenceWarning, match="maximum number of iterations"):
        fitter(start_model(), *grid, noisy(clean, sigma, 4), sigma=sigma, maxiter=2)
    assert not fitter.fit_info["converged"]
    assert fitter.fit_info["n_iter"] == 2


def test_bad_inputs(grid, clean, sigma):
    fitter = LevMarFitter()
    with pytest.raises(InvalidImageError, match="sigma"):
        fitter(start_model(), *grid, clean, sigma=np.zeros(SHAPE))
    with pytest.raises(InvalidImageError, match="regular pixel grid"):
        fitter(start_model(), grid[0] ** 1.1, grid[1], clean, sigma=sigma)
    with pytest.raises(galfitax.GalfitaxError, match="statistic"):
        LevMarFitter(statistic="l1")


def read_imfit_reference(path):
    """Best-fit values, 1-sigma errors and reduced chi2 from imfit's console output."""
    values, errors = {}, {}
    for line in path.read_text().splitlines():
        match = re.match(r"^(\w+)\s+([-+.\deE]+)\s+# \+/- ([-+.\deE]+)", line.strip())
        if match:
            values[match.group(1)] = float(match.group(2))
            errors[match.group(1)] = float(match.group(3))
        if line.startswith("Reduced Chi^2"):
            values["chi2_nu"] = float(line.split("=")[1])
    return values, errors


def test_imfit_ic3478_data_based_errors(caplog):
    """IC 3478 64x64 (SDSS r) with imfit's data-based errors: imfit's reference fit."""
    data = fits.getdata(DATA / "imfit_ic3478rss_64x64.fits").astype(float)
    ref, err = read_imfit_reference(DATA / "imfit_textout2")
    # imfit config: X0 32, Y0 32 (1-based), PA 18 [0, 90], ell 0.2, n 1.5 [0, 5], I_e 15, r_e 25
    start = Sersic2D(flux=Sersic2D.flux_from_amplitude(15.0, 25.0, 1.5, 0.2), r_eff=25.0, n=1.5,
                     x_0=31.0, y_0=31.0, ellip=0.2, theta=np.radians(18.0 + 90.0),
                     bounds={"x_0": (0.0, 63.0), "y_0": (0.0, 63.0), "n": (0.2, 5.0),
                             "r_eff": (1e-3, 100.0),
                             "theta": (np.radians(90.0), np.radians(180.0))})
    fitter = LevMarFitter()
    with caplog.at_level(logging.INFO, logger="galfitax"):
        fitted = fitter.fit_image(start, data, gain=4.725, read_noise=4.3, sky=130.1)
    assert "sigma image built from the data" in caplog.text
    assert fitter.fit_info["sigma_source"].startswith("data")
    ours = {
        "X0": fitted.x_0.value + 1, "Y0": fitted.y_0.value + 1,
        "PA": np.degrees(fitted.theta.value) - 90.0, "ell": fitted.ellip.value,
        "n": fitted.n.value, "r_e": fitted.r_eff.value,
        "I_e": Sersic2D.amplitude_from_flux(fitted.flux.value, fitted.r_eff.value,
                                            fitted.n.value, fitted.ellip.value),
    }
    for name, value in ours.items():
        tolerance = max(0.5 * err[name], 5e-3 * abs(ref[name]))
        assert abs(value - ref[name]) <= tolerance, (name, value, ref[name], err[name])
    assert abs(fitter.fit_info["chi2_nu"] / ref["chi2_nu"] - 1) < 1e-3
    assert fitter.fit_info["dof"] == 4089


def test_cash_on_low_counts(grid):
    """Poisson maximum likelihood: the Cash fit beats the truth and recovers it."""
    truth = Sersic2D(flux=600.0, r_eff=5.0, n=1.5, x_0=31.3, y_0=32.6, ellip=0.35, theta=0.7)
    sky = 1.5
    counts = np.random.default_rng(5).poisson(truth(*grid) + sky).astype(float)
    data = counts - sky
    start = Sersic2D(flux=400.0, r_eff=6.0, n=2.5, x_0=32.0, y_0=32.0, ellip=0.2, theta=0.5)
    fitter = LevMarFitter(statistic="cash")
    fitted = fitter(start, *grid, data, sky=sky)
    info = fitter.fit_info
    assert info["converged"] and info["statistic"] == "cash"

    def deviance(model):
        m = model(*grid) + sky
        d = counts
        with np.errstate(divide="ignore", invalid="ignore"):
            log_term = np.where(d > 0, d * np.log(d / m), 0.0)
        return 2 * np.sum(m - d + log_term)

    np.testing.assert_allclose(info["statistic_value"], deviance(fitted), rtol=1e-9)
    assert deviance(fitted) < deviance(truth)
    for name in ("flux", "r_eff", "x_0", "y_0"):
        pull = (getattr(fitted, name).value - getattr(truth, name).value) / fitted.stds[name]
        assert abs(pull) < 4, (name, pull)
    model = fitted(*grid) + sky
    np.testing.assert_allclose(info["chi2"], np.sum((counts - model) ** 2 / model), rtol=1e-9)


def test_sigma_from_data_formula():
    sigma = sigma_from_data(np.array([[50.0, -200.0]]), gain=2.0, read_noise=3.0, ncombine=2,
                            sky=10.0)
    np.testing.assert_allclose(sigma[0, 0], np.sqrt(60.0 / 4.0 + 9.0 / 8.0))
    np.testing.assert_allclose(sigma[0, 1], np.sqrt(9.0 / 8.0))


def test_no_warning_without_sigma(grid, clean):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LevMarFitter().fit_image(start_model(), clean + 0.0, sky=SKY, read_noise=5.0)


def test_round_start_with_perpendicular_angle_reaches_the_minimum(noisy_fit, grid, sigma):
    """ellip = 0 is a saddle in (ellip, theta); the fit still finds the orientation.

    With theta unbounded the solver moves the Cartesian ellipticity, where a
    round shape is an ordinary point (``galfitax._jax.ellipticity``); with
    theta bounded it moves (ellip, theta) and, if it ends on the saddle, the
    fitter restarts turned by 90 degrees
    (`test_round_restart_turns_stuck_components`).
    """
    _, reference, data = noisy_fit
    start = start_model()
    start.ellip = 0.0
    start.theta = truth_model().theta.value + np.pi / 2
    fitter = LevMarFitter()
    fitted = fitter(start, *grid, data, sigma=sigma)
    assert fitter.fit_info["converged"]
    np.testing.assert_allclose(fitted.ellip.value, reference.ellip.value, rtol=1e-6)
    np.testing.assert_allclose(np.cos(2 * (fitted.theta.value - reference.theta.value)), 1.0,
                               atol=1e-10)
    # the same ellipse, with theta within 90 degrees of where it started
    assert abs(fitted.theta.value - start.theta.value) <= np.pi / 2


def test_round_restart_turns_stuck_components():
    from types import SimpleNamespace

    from galfitax._jax.ellipticity import cartesian_mask, ellipse_pairs
    from galfitax.fitting.fitter import _pick, _round_pairs, _round_restart

    names = ("flux_0", "ellip_0", "theta_0", "flux_1", "ellip_1", "theta_1")
    upper = np.array([1e9, 0.9, np.inf, 1e9, 0.15, np.inf])
    pmap = SimpleNamespace(free_names=names, lower=np.array([0.0, 0.0, -np.inf, 0.0, 0.0, -9.0]),
                           upper=upper)
    pairs = _round_pairs(pmap)
    assert pairs == [(1, 2), (4, 5)]
    # the unbounded theta_0 is moved as a Cartesian ellipticity: no saddle, no restart
    on = cartesian_mask(ellipse_pairs(names), pmap.lower, upper)
    np.testing.assert_array_equal(on, [True, False])
    cartesian = ((1, 2),)
    assert _round_pairs(pmap, cartesian) == [(4, 5)]
    assert _round_restart(np.array([1.0, 0.2, 0.3, 1.0, 0.1, 0.4]), pairs, upper) is None
    params = np.array([1.0, 0.0, 0.3, 1.0, 0.0, 0.4])
    restart = _round_restart(params, pairs, upper)
    np.testing.assert_allclose(restart, [1.0, 0.1, 0.3 + np.pi / 2, 1.0, 0.075, 0.4 + np.pi / 2])
    assert params[1] == 0.0  # the fitted values are not modified
    first, second = (SimpleNamespace(chi2=10.0),), (SimpleNamespace(chi2=9.0),)
    assert _pick(first, second, restart) == (second, True)
    assert _pick(second, first, restart) == (second, False)
    assert _pick(first, None, None) == (first, False)


def test_jacobian_in_column_batches_equals_the_full_jacobian():
    import jax.numpy as jnp

    from galfitax._jax.lm import residuals_and_jacobian
    from galfitax._jax.precision import x64

    def residuals(p):
        return jnp.stack([p[0] * p[1], jnp.sin(p[2]), p[0] ** 2 + p[2], jnp.exp(p[1])])

    with x64():
        point = jnp.array([0.3, -1.2, 2.0])
        full = residuals_and_jacobian(residuals, point)
        batched = residuals_and_jacobian(residuals, point, tangent_batch=2)
    np.testing.assert_allclose(np.asarray(batched[0]), np.asarray(full[0]), rtol=1e-15)
    np.testing.assert_allclose(np.asarray(batched[1]), np.asarray(full[1]), rtol=1e-14)
    expected = [[-1.2, 0.3, 0.0], [0.0, 0.0, np.cos(2.0)], [0.6, 0.0, 1.0],
                [0.0, np.exp(-1.2), 0.0]]
    np.testing.assert_allclose(np.asarray(full[1]), expected, rtol=1e-14)


def test_large_problem_path_gives_the_same_fit(noisy_fit, grid, sigma, monkeypatch):
    # problems above the Jacobian budget build it a few columns at a time
    import galfitax._jax.objective as objective

    fitter, fitted, data = noisy_fit
    objective.compiled_fit.cache_clear()
    monkeypatch.setattr(objective, "_JACOBIAN_BUDGET", 3 * SHAPE[0] * SHAPE[1])
    try:
        lean = LevMarFitter()
        again = lean(start_model(), *grid, data, sigma=sigma)
    finally:
        objective.compiled_fit.cache_clear()
    np.testing.assert_allclose(again.parameters, fitted.parameters, rtol=1e-9)
    assert lean.fit_info["n_iter"] == fitter.fit_info["n_iter"]


@pytest.mark.parametrize("pixels", [37, 64, 100])
def test_gram_matrix_in_blocks_equals_the_product(monkeypatch, pixels):
    # J^T J summed over pixel blocks (memory of one block, not of the whole Jacobian)
    import jax

    from galfitax._jax import lm
    from galfitax._jax.precision import x64

    monkeypatch.setattr(lm, "_GRAM_BLOCK", 16)  # 37 px: 2 blocks + 5; 64: 4; 100: 6 + 4
    rows = np.random.default_rng(3).normal(size=(2, 5, pixels))
    with x64():
        single = np.asarray(jax.jit(lm.gram_matrix)(rows[0]))
        batched = np.asarray(jax.jit(jax.vmap(lm.gram_matrix))(rows))
    np.testing.assert_allclose(single, rows[0] @ rows[0].T, rtol=1e-13)
    np.testing.assert_allclose(batched, np.einsum("bip,bjp->bij", rows, rows), rtol=1e-13)


def _linear_problem():
    rng = np.random.default_rng(1)
    design = rng.normal(size=(50, 4))
    target = design @ np.array([1.0, -2.0, 3.0, 0.5]) + rng.normal(size=50) * 0.1
    return design, target


def test_newton_decrement_is_the_decrease_left_on_a_linear_problem():
    design, target = _linear_problem()
    point = np.array([0.3, 0.1, -0.2, 2.0])
    residual = design @ point - target
    with x64():
        state = lm.initial_state(lambda p: (jnp.asarray(design) @ p, ()), jnp.asarray(point),
                                 -np.inf, np.inf, lm.LMOptions())
        state = state._replace(jtj=jnp.asarray(design.T @ design),
                               grad=jnp.asarray(design.T @ residual),
                               chi2=jnp.asarray(residual @ residual))
        free = lm._newton_decrement(state, jnp.zeros(4, bool))
        held = lm._newton_decrement(state, jnp.array([False, True, False, False]))
    best = np.linalg.lstsq(design, target, rcond=None)[0]
    assert float(free) == pytest.approx(residual @ residual - np.sum((design @ best - target)**2),
                                        rel=1e-10)
    # with the second parameter held at its value: the minimum over the other three
    others = np.delete(design, 1, axis=1)
    rest = target - design[:, 1] * point[1]
    best3 = np.linalg.lstsq(others, rest, rcond=None)[0]
    assert float(held) == pytest.approx(
        residual @ residual - np.sum((others @ best3 - rest)**2), rel=1e-10)


def test_solver_stops_when_the_quadratic_model_has_nothing_left():
    design, target = _linear_problem()
    with x64():
        result = lm.levenberg_marquardt(
            lambda p: (jnp.asarray(design) @ p - jnp.asarray(target), ()), jnp.zeros(4),
            jnp.full(4, -jnp.inf), jnp.full(4, jnp.inf), lm.LMOptions())
    best = np.linalg.lstsq(design, target, rcond=None)[0]
    assert int(result.status) == lm.Status.FTOL
    assert float(result.chi2) == pytest.approx(np.sum((design @ best - target)**2), rel=1e-12)
    # with the actual-and-predicted test alone it took 5: one more step, only to confirm
    assert int(result.nfev) == 4
