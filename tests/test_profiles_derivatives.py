"""``fit_deriv`` of every profile against central finite differences of ``evaluate``."""

import numpy as np
import pytest

import galfitax

# the stamp shape of test_integration_accuracy: models compiled there are reused
SHAPE = (24, 24)
# centres away from pixel edges (the exact patch moves with the centre pixel)
X_0, Y_0 = 11.3, 12.2

CASES = {
    "sersic": galfitax.Sersic2D(flux=100.0, r_eff=3.0, n=2.5, ellip=0.3, theta=0.5),
    "devaucouleurs": galfitax.DeVaucouleurs2D(flux=100.0, r_eff=2.5, ellip=0.2, theta=1.0),
    "exponential": galfitax.Exponential2D(flux=100.0, r_s=2.5, ellip=0.5, theta=-0.4),
    "gaussian": galfitax.Gaussian2D(flux=100.0, fwhm=3.0, ellip=0.4, theta=0.2),
    "moffat": galfitax.Moffat2D(flux=100.0, fwhm=3.0, alpha=2.5, ellip=0.1, theta=0.7),
    "ferrers": galfitax.Ferrers2D(flux=100.0, r_out=6.0, alpha=2.5, beta=0.5, ellip=0.3,
                                  theta=0.1),
    "king": galfitax.King2D(flux=100.0, r_c=2.0, r_t=8.0, alpha=2.2, ellip=0.2, theta=0.3),
    "nuker": galfitax.Nuker2D(amplitude=1.0, r_b=3.0, alpha=2.0, beta=3.0, gamma=0.5,
                              ellip=0.3, theta=0.6),
    "core_sersic": galfitax.CoreSersic2D(amplitude=1.0, r_eff=5.0, n=3.0, r_b=1.5, alpha=2.0,
                                         gamma=0.3, ellip=0.2, theta=0.4),
    "broken_exponential": galfitax.BrokenExponential2D(amplitude=1.0, h1=3.0, h2=1.5,
                                                       r_break=4.0, alpha=1.5, ellip=0.3,
                                                       theta=0.2),
    "edge_on_disk": galfitax.EdgeOnDisk2D(flux=100.0, r_s=4.0, h_s=1.2, theta=0.4),
    "flat_sky": galfitax.FlatSky(amplitude=2.0),
    "tilted_sky": galfitax.TiltedSky(amplitude=2.0, slope_x=0.1, slope_y=-0.05, x_0=8.0,
                                     y_0=9.0),
    "point": galfitax.PointSource2D(flux=10.0),
}


def _model(kind):
    model = CASES[kind].copy()
    if "x_0" in model.param_names and kind != "tilted_sky":
        model.x_0, model.y_0 = X_0, Y_0
    return model


def central_differences(model, x, y, relative_step=1e-6):
    params = np.array(model.parameters, dtype=float)
    columns = []
    for i, value in enumerate(params):
        step = relative_step * max(abs(value), 1.0)
        up, down = params.copy(), params.copy()
        up[i] += step
        down[i] -= step
        columns.append((model.evaluate(x, y, *up) - model.evaluate(x, y, *down)) / (2 * step))
    return columns


def assert_matches_finite_differences(model, x, y):
    analytic = model.fit_deriv(x, y, *model.parameters)
    numeric = central_differences(model, x, y)
    for name, a, n in zip(model.param_names, analytic, numeric):
        assert np.all(np.isfinite(a)), name
        scale = max(np.abs(n).max(), np.abs(a).max(), 1e-12)
        # truncation + rounding error of the differences: ~1e-8 of the column
        assert np.abs(a - n).max() < 2e-6 * scale, name


def test_every_kind_is_covered():
    from galfitax._jax.profiles import PROFILES

    assert set(CASES) == set(PROFILES)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_fit_deriv_matches_finite_differences(kind):
    y, x = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    assert_matches_finite_differences(_model(kind), x, y)


@pytest.mark.parametrize("c0", [0.0, 0.6, -0.5])  # one compile: c0 is a value
def test_boxy_disky_sersic_derivatives_including_c0(c0):
    # c0 free: the general isophote formula, whose c0 derivative is exact at 0 too
    y, x = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    model = _model("sersic")
    model.c0 = c0
    model.c0.fixed = False
    assert_matches_finite_differences(model, x, y)
    c0_column = model.fit_deriv(x, y, *model.parameters)[model.param_names.index("c0")]
    assert np.abs(c0_column).max() > 1e-3


@pytest.mark.parametrize("offset", [0.0, 0.3872983346207417])
def test_finite_derivatives_with_centre_on_a_pixel_centre_or_node(offset):
    # a centre on a pixel centre / on a Gauss-Legendre sub-sample node (order 3)
    y, x = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    for kind in ("sersic", "nuker", "core_sersic", "edge_on_disk"):
        model = _model(kind)
        model.x_0, model.y_0 = 12.0 + offset, 11.0 + offset
        image = model(x, y)
        jacobian = model.fit_deriv(x, y, *model.parameters)
        assert np.all(np.isfinite(image)), kind
        assert all(np.all(np.isfinite(column)) for column in jacobian), kind
