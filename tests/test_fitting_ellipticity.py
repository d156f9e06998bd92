"""The solver's Cartesian ellipticity components (galfitax._jax.ellipticity)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from galfitax import LevMarFitter, Sersic2D
from galfitax._jax.ellipticity import (cartesian_mask, ellipse_pairs, from_cartesian,
                                       result_to_polar, to_cartesian)
from galfitax._jax.lm import LMOptions, initial_state
from galfitax._jax.precision import x64

INF = np.inf


def test_pairs_need_ellip_from_zero_and_an_unbounded_free_theta():
    names = ("flux_0", "ellip_0", "theta_0", "ellip_1", "theta_1", "ellip_2", "theta_2",
             "ellip_3", "ellip", "theta")
    lower = np.array([0, 0, -INF, 0, -3.0, 0.1, -INF, 0, 0, -INF])
    upper = np.array([INF, 0.9, INF, 0.9, INF, 0.9, INF, 0.9, 0.99, INF])
    pairs = ellipse_pairs(names)
    assert pairs == ((1, 2), (3, 4), (5, 6), (8, 9))     # _3: theta fixed (not free)
    # _1: theta bounded; _2: ellip cannot reach 0
    np.testing.assert_array_equal(cartesian_mask(pairs, lower, upper), [1, 0, 0, 1])
    # no cap on the modulus
    assert not cartesian_mask(((0, 1),), np.array([0.0, -INF]), np.array([INF, INF])).any()


def test_round_trip_and_box():
    pairs, on = ((0, 1),), np.array([True])
    with x64():
        params = jnp.array([0.3, 2.0, 7.0])
        lower, upper = jnp.array([0.0, -INF, 1.0]), jnp.array([0.8, INF, 9.0])
        # switched off: nothing changes
        off = to_cartesian(params, lower, upper, pairs, ~on)
        for got, want in zip(off, (params, lower, upper)):
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(from_cartesian(params, upper, pairs, ~on), params)
        u, lo, hi = to_cartesian(params, lower, upper, pairs, on)
        np.testing.assert_allclose(u, [0.3 * np.cos(4.0), 0.3 * np.sin(4.0), 7.0], rtol=1e-15)
        np.testing.assert_array_equal(lo, [-0.8, -0.8, 1.0])
        np.testing.assert_array_equal(hi, [0.8, 0.8, 9.0])
        back = from_cartesian(u, hi, pairs, on)
        # theta comes back modulo pi, in (-pi/2, pi/2]
        np.testing.assert_allclose(back, [0.3, 2.0 - np.pi, 7.0], rtol=1e-14)
        # a box corner beyond the cap keeps the modulus at the cap
        corner = from_cartesian(jnp.array([0.8, 0.8, 7.0]), hi, pairs, on)
        np.testing.assert_allclose(corner[0], 0.8)
        # an exactly round start moves off the cone tip along its theta
        u0, _, _ = to_cartesian(jnp.array([0.0, 0.25, 7.0]), lower, upper, pairs, on)
        np.testing.assert_allclose(u0[:2], 1e-3 * np.array([np.cos(0.5), np.sin(0.5)]))
        # batched starts (leading axis)
        ub, _, _ = to_cartesian(jnp.stack([params, params]), lower, upper, pairs, on)
        np.testing.assert_allclose(ub[1], u)


def test_derivatives_are_finite_at_the_origin():
    pairs = ((0, 1),)
    with x64():
        upper = jnp.array([0.9, 0.9])
        jac = jax.jacfwd(lambda u: from_cartesian(u, upper, pairs, [True]))(jnp.zeros(2))
    assert np.all(np.isfinite(np.asarray(jac)))


def test_result_to_polar_is_the_chain_rule():
    """J^T J, gradient and angle of a result in u equal those computed in (ellip, theta)."""
    pairs, on = ((1, 2),), np.array([True])
    rng = np.random.default_rng(3)
    basis = rng.normal(size=(40, 3))

    def residuals_polar(p):
        flux, ellip, theta = p[0], p[1], p[2]
        return (basis[:, 0] * flux * (1 + ellip * jnp.cos(2 * theta - 0.4))
                + basis[:, 1] * ellip ** 2 + basis[:, 2] * jnp.sin(2 * theta) * ellip - 1.0)

    with x64():
        polar = jnp.array([2.0, 0.45, 3.9])      # theta far from (-pi/2, pi/2]
        start = jnp.array([1.0, 0.2, 4.3])
        lower, upper = jnp.array([0.0, 0.0, -INF]), jnp.array([10.0, 0.95, INF])
        u, _, _ = to_cartesian(polar, lower, upper, pairs, on)

        def residuals_u(v):
            return residuals_polar(from_cartesian(v, upper, pairs, on))

        r = residuals_u(u)
        jac_u = jax.jacfwd(residuals_u)(u)
        state = initial_state(lambda p: (residuals_u(p), None), u, lower, upper, LMOptions(),
                              (jax.ShapeDtypeStruct(r.shape, r.dtype),
                               jax.ShapeDtypeStruct((), r.dtype)))
        state = state._replace(params=u, jtj=jac_u.T @ jac_u, grad=jac_u.T @ r)
        out = result_to_polar(state, start, upper, pairs, on)
        same = result_to_polar(state, start, upper, pairs, ~on)
        jac_p = jax.jacfwd(residuals_polar)(polar)
    np.testing.assert_allclose(out.params, polar, rtol=1e-13)   # 3.9 is within pi/2 of 4.3
    np.testing.assert_allclose(out.jtj, jac_p.T @ jac_p, rtol=1e-11)
    np.testing.assert_allclose(out.grad, jac_p.T @ residuals_polar(polar), rtol=1e-11)
    np.testing.assert_allclose(out.scale, np.diag(jac_p.T @ jac_p), rtol=1e-11)
    assert not np.asarray(out.active).any()
    for name in ("params", "jtj", "grad", "scale", "active"):     # switched off: unchanged
        np.testing.assert_array_equal(getattr(same, name), getattr(state, name))


SHAPE = (48, 48)


@pytest.fixture(scope="module")
def image():
    truth = Sersic2D(flux=9e3, r_eff=5.0, n=1.5, x_0=23.4, y_0=24.2, ellip=0.45, theta=2.6)
    y, x = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    clean = truth(x, y)
    sigma = np.sqrt(clean + 30.0)
    data = clean + np.random.default_rng(8).normal(size=SHAPE) * sigma
    return x, y, data, sigma


def test_cartesian_and_polar_solvers_agree(image):
    """Same minimum and same covariance whichever coordinates the solver moves."""
    x, y, data, sigma = image
    results = []
    for theta_bounds in ((None, None), (-20.0, 20.0)):   # Cartesian / (ellip, theta)
        start = Sersic2D(flux=7e3, r_eff=6.0, n=2.5, x_0=24.0, y_0=24.0, ellip=0.3, theta=2.2)
        start.theta.bounds = theta_bounds
        fitter = LevMarFitter()
        fitted = fitter(start, x, y, data, sigma=sigma)
        assert fitter.fit_info["converged"]
        results.append((fitted, fitter.fit_info))
    (cart, cart_info), (polar, polar_info) = results
    np.testing.assert_allclose(cart_info["chi2"], polar_info["chi2"], rtol=1e-10)
    np.testing.assert_allclose(cart.parameters, polar.parameters, rtol=1e-6)
    np.testing.assert_allclose(cart_info["param_cov"], polar_info["param_cov"], rtol=1e-4)
    assert abs(cart.theta.value - 2.2) <= np.pi / 2


def test_batch_in_vmap_slots_matches_single_fits(image):
    x, y, data, sigma = image
    start = Sersic2D(flux=7e3, r_eff=6.0, n=2.5, x_0=24.0, y_0=24.0, ellip=0.0, theta=1.0)
    fitter = LevMarFitter()
    single = fitter.fit_image(start, data, sigma=sigma)
    single_info = fitter.fit_info
    flipped = data[::-1, :]          # theta -> -theta: a second, different problem
    batch = fitter.fit_batch(start, np.stack([data, flipped]),
                             sigmas=np.stack([sigma, sigma[::-1, :]]), slots=2)
    np.testing.assert_allclose(batch[0].parameters, single.parameters, rtol=1e-9)
    np.testing.assert_allclose(fitter.fit_info["param_cov"][0], single_info["param_cov"],
                               rtol=1e-6)
    np.testing.assert_allclose(np.cos(2 * (batch[1].theta.value + single.theta.value)), 1.0,
                               atol=1e-8)
    np.testing.assert_allclose(batch[1].ellip.value, single.ellip.value, rtol=1e-6)


def test_fit_ending_on_the_cap_is_repeated_in_ellip_theta(monkeypatch):
    """A Cartesian fit thrown onto the ellipticity cap is refitted in (ellip, theta)."""
    from types import SimpleNamespace

    import galfitax.fitting.fitter as fitter_module

    pmap = SimpleNamespace(free_names=("flux", "ellip", "theta"),
                           lower=np.array([0.0, 0.0, -INF]), upper=np.array([INF, 0.9, INF]),
                           matrix=np.eye(3))
    calls = []

    def fake_run_fit(specs, statistic, free0, matrix, offset, lo, hi, terms, options, pairs,
                     on):
        calls.append(tuple(on))
        if on[0]:    # Cartesian: a needle on the cap
            return SimpleNamespace(params=np.array([1.0, 0.9, 0.2]), chi2=120.0), None, None
        return SimpleNamespace(params=np.array([1.0, 0.3, 0.5]), chi2=100.0), None, None

    monkeypatch.setattr(fitter_module, "run_fit", fake_run_fit)
    fitter = LevMarFitter()
    (result, _, _), restarted = fitter._solve(None, pmap, np.array([1.0, 0.1, 0.4]), None,
                                              None, None)
    assert calls == [(True,), (False,)]
    assert restarted and result.chi2 == 100.0
    # not on the cap: one fit
    calls.clear()
    pmap.upper = np.array([INF, 0.95, INF])
    (result, _, _), restarted = fitter._solve(None, pmap, np.array([1.0, 0.1, 0.4]), None,
                                              None, None)
    assert calls == [(True,)] and not restarted and result.chi2 == 120.0
