"""Physical normalisations of the profiles, special functions and parameter validation."""

import numpy as np
import pytest
from scipy import special

import galfitax
from galfitax.exceptions import InvalidParameterError

FRAME = 128                    # the flux frame of test_integration_accuracy (shared compiles)
CENTRE = 63.4


@pytest.fixture(scope="module")
def grid():
    return np.mgrid[0:FRAME, 0:FRAME]


# -- flux-parameterised profiles: summed image = flux ---------------------------------
FLUX_MODELS = {
    "exponential": galfitax.Exponential2D(flux=7.0, r_s=3.0, ellip=0.4, theta=0.3),
    "devaucouleurs": galfitax.DeVaucouleurs2D(flux=7.0, r_eff=0.4, ellip=0.2, theta=1.1),
    "gaussian": galfitax.Gaussian2D(flux=7.0, fwhm=4.0, ellip=0.6, theta=0.5),
    "moffat": galfitax.Moffat2D(flux=7.0, fwhm=3.0, alpha=4.0, ellip=0.3, theta=0.2),
    "ferrers": galfitax.Ferrers2D(flux=7.0, r_out=12.0, alpha=2.0, beta=0.5, ellip=0.3,
                                  theta=0.4),
    "king": galfitax.King2D(flux=7.0, r_c=2.0, r_t=15.0, alpha=2.0, ellip=0.2, theta=0.9),
    "edge_on_disk": galfitax.EdgeOnDisk2D(flux=7.0, r_s=4.0, h_s=1.5, theta=0.3),
}


@pytest.mark.parametrize("kind", sorted(FLUX_MODELS))
def test_flux_parameter_is_total_flux(grid, kind):
    y, x = grid
    model = FLUX_MODELS[kind].copy()
    model.x_0, model.y_0 = CENTRE, CENTRE + 0.3
    # frames hold all but < 1e-6 of the flux (Moffat wings: (gamma / 60)^6)
    assert model(x, y).sum() == pytest.approx(7.0, rel=2e-5)


@pytest.mark.parametrize("c0", [-0.6, 0.8])
def test_boxy_and_disky_isophotes_conserve_flux(grid, c0):
    # generalised-ellipse area normalisation 4 q Gamma(1 + 1/p)^2 / Gamma(1 + 2/p)
    y, x = grid
    model = galfitax.Sersic2D(flux=5.0, r_eff=4.0, n=1.0, x_0=CENTRE, y_0=CENTRE, ellip=0.3,
                              theta=0.4, c0=c0)
    assert model(x, y).sum() == pytest.approx(5.0, rel=2e-5)


def test_unit_ellipse_area_matches_counting():
    from galfitax._jax.geometry import unit_ellipse_area

    side = np.linspace(-1.0, 1.0, 2001)
    xx, yy = np.meshgrid(side, side)
    for q, c0 in ((1.0, 0.0), (0.5, 1.0), (0.7, -0.8)):
        p = c0 + 2.0
        counted = np.mean(np.abs(xx) ** p + np.abs(yy / q) ** p <= 1.0) * 4.0
        assert float(unit_ellipse_area(q, c0)) == pytest.approx(counted, rel=2e-3)
    assert float(unit_ellipse_area(0.5, 0.0)) == pytest.approx(0.5 * np.pi, rel=1e-15)


# -- amplitude-parameterised profiles: surface brightness at the stated radius ---------
def _surface_brightness(model, dx, dy):
    import jax

    from galfitax._jax.profiles import get_profile
    from galfitax.settings import DEFAULT_SETTINGS

    profile = get_profile(model._kind)
    params = dict(zip(model.param_names, (float(v) for v in model.parameters)))
    with jax.enable_x64(True):
        constants = profile.prepare(params, DEFAULT_SETTINGS)
        return float(profile.surface_brightness(model.x_0.value + dx, model.y_0.value + dy,
                                                constants))


def test_amplitudes_are_surface_brightness_at_their_radius():
    theta = 0.3
    along = np.array([np.cos(theta), np.sin(theta)])  # major axis
    nuker = galfitax.Nuker2D(amplitude=2.5, r_b=4.0, alpha=1.5, beta=3.5, gamma=0.7,
                             x_0=10.0, y_0=10.0, ellip=0.4, theta=theta)
    assert _surface_brightness(nuker, *(4.0 * along)) == pytest.approx(2.5, rel=1e-12)
    core = galfitax.CoreSersic2D(amplitude=2.5, r_eff=8.0, n=3.0, r_b=1.2, alpha=3.0,
                                 gamma=0.4, x_0=10.0, y_0=10.0, ellip=0.4, theta=theta)
    assert _surface_brightness(core, *(1.2 * along)) == pytest.approx(2.5, rel=1e-12)
    broken = galfitax.BrokenExponential2D(amplitude=2.5, h1=4.0, h2=2.0, r_break=6.0,
                                          alpha=2.0, x_0=10.0, y_0=10.0, theta=theta)
    assert _surface_brightness(broken, 0.0, 0.0) == pytest.approx(2.5, rel=1e-12)
    # far outside the break the broken exponential falls with scale length h2
    ratio = (_surface_brightness(broken, *(30.0 * along))
             / _surface_brightness(broken, *(31.0 * along)))
    assert ratio == pytest.approx(np.exp(1.0 / 2.0), rel=1e-6)


def test_sersic_amplitude_conversion_matches_surface_brightness():
    model = galfitax.Sersic2D(flux=300.0, r_eff=5.0, n=3.0, x_0=10.0, y_0=10.0, ellip=0.4,
                              theta=0.0)
    expected = galfitax.Sersic2D.amplitude_from_flux(300.0, 5.0, 3.0, ellip=0.4)
    assert _surface_brightness(model, 5.0, 0.0) == pytest.approx(expected, rel=1e-12)
    # and half the light inside r_eff: P(2n, b_n) = 1/2 with the exact b_n
    b = float(galfitax.models.profiles.sersic_bn(3.0))
    assert special.gammainc(6.0, b) == pytest.approx(0.5, abs=1e-14)


# -- special functions ------------------------------------------------------------
def test_sersic_bn_is_exact_over_the_range():
    import jax

    from galfitax._jax.special import sersic_bn

    n = np.geomspace(0.2, 10.0, 97)
    with jax.enable_x64(True):
        values = np.asarray(jax.vmap(sersic_bn)(n))
        slopes = np.asarray(jax.vmap(jax.grad(sersic_bn))(n))
    exact = special.gammaincinv(2.0 * n, 0.5)
    np.testing.assert_allclose(values, exact, rtol=1e-12)
    # implicit derivative: db/dn = -2 (dP/da) / (dP/dx) at (2n, b_n)
    step = 1e-6
    dp_da = (special.gammainc(2 * n + step, exact) - special.gammainc(2 * n - step, exact)) / (
        2 * step)
    dp_dx = np.exp((2 * n - 1) * np.log(exact) - exact - special.gammaln(2 * n))
    np.testing.assert_allclose(slopes, -2.0 * dp_da / dp_dx, rtol=1e-7)


def test_incomplete_gamma_and_bessel_against_scipy():
    import jax

    from galfitax._jax.special import bessel_k1, gammainc_lower

    a = np.array([0.4, 1.0, 2.5, 8.0, 16.0, 20.0])
    x = np.concatenate([[0.0, 1e-9], np.geomspace(1e-4, 1e4, 300)])
    with jax.enable_x64(True):
        rows = jax.vmap(gammainc_lower, (0, None))
        values, slopes = (np.asarray(v) for v in jax.jvp(lambda a: rows(a, x), (a,),
                                                             (np.ones_like(a),)))
        k1 = np.asarray(bessel_k1(x[1:250]))  # x < 700: no underflow
    np.testing.assert_allclose(values, special.gammainc(a[:, None], x), atol=1e-13)
    step = 1e-6
    expected = (special.gammainc(a[:, None] + step, x) - special.gammainc(a[:, None] - step, x)
                ) / (2 * step)
    np.testing.assert_allclose(slopes, expected, atol=1e-8)
    np.testing.assert_allclose(k1, special.k1(x[1:250]), rtol=1e-13)


# -- validation -------------------------------------------------------------------
INVALID = [
    (galfitax.Sersic2D, "r_eff", -1.0),
    (galfitax.Sersic2D, "n", 0.1),
    (galfitax.Sersic2D, "n", np.nan),
    (galfitax.Sersic2D, "ellip", 1.0),
    (galfitax.Sersic2D, "ellip", -0.1),
    (galfitax.Moffat2D, "alpha", 1.0),
    (galfitax.Ferrers2D, "beta", 2.0),
    (galfitax.King2D, "r_c", 0.0),
    (galfitax.Gaussian2D, "c0", -2.5),
    (galfitax.EdgeOnDisk2D, "h_s", -1.0),
    (galfitax.FlatSky, "amplitude", np.inf),
]


@pytest.mark.parametrize(("cls", "name", "value"), INVALID)
def test_invalid_parameters_raise_at_construction(cls, name, value):
    with pytest.raises(InvalidParameterError, match=f"'{name}'"):
        cls(**{name: value})


@pytest.mark.parametrize(("cls", "name", "value"), INVALID)
def test_invalid_assignments_raise_at_evaluation(cls, name, value):
    # assignment stays free (fitters and tie probing pass through any value)
    y, x = np.mgrid[0:4, 0:4]
    compound = cls() + galfitax.FlatSky()
    setattr(compound, f"{name}_0", value)
    with pytest.raises(InvalidParameterError, match=f"'{name}'"):
        compound(x, y)


def test_message_names_the_value():
    with pytest.raises(InvalidParameterError,
                       match=r"'r_eff' = .*-2.5.* is outside its valid range"):
        galfitax.Sersic2D(r_eff=-2.5)
