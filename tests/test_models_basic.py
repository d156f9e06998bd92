"""Basic behaviour of the astropy model classes: construction, compounds, boundaries."""

import jax
import numpy as np
import pytest
from astropy.modeling import CompoundModel
from astropy.modeling.fitting import TRFLSQFitter
from astropy.modeling.models import Const2D

import galfitax
from galfitax._jax.render import trace_count
from galfitax.exceptions import InvalidModelError, InvalidParameterError


@pytest.fixture
def grid():
    return np.mgrid[0:48, 0:48]


def three_components():
    return (galfitax.Sersic2D(flux=1000.0, r_eff=4.0, n=2.5, x_0=23.3, y_0=24.1, ellip=0.3,
                              theta=0.5)
            + galfitax.Exponential2D(flux=800.0, r_s=6.0, x_0=23.3, y_0=24.1, ellip=0.6,
                                     theta=0.4)
            + galfitax.FlatSky(amplitude=2.0))


def test_compound_is_galfitax_compound(grid):
    y, x = grid
    model = three_components()
    assert isinstance(model, galfitax.GalfitaxCompoundModel)
    assert isinstance(model, CompoundModel)
    assert model.param_names[0] == "flux_0"
    image = model(x, y)
    assert image.shape == (48, 48)
    assert image.dtype == np.float64
    parts = sum(component(x, y) for component in (model[0], model[1], model[2]))
    np.testing.assert_allclose(image, parts, rtol=1e-12)


def test_compound_does_not_recompile_on_new_values(grid):
    y, x = grid
    model = three_components()
    model(x, y)
    model.fit_deriv(x, y, *model.parameters)
    before = trace_count()
    for flux in (500.0, 700.0, 900.0):
        model.flux_0 = flux
        model.r_eff_0 = flux / 200.0
        model(x, y)
        model.fit_deriv(x, y, *model.parameters)
    assert trace_count() == before


def test_compound_evaluates_in_one_compiled_function(grid):
    y, x = grid
    model = three_components()
    model.n_0 = 3.123  # fresh values, same structure: no trace
    model(x, y)
    fresh = three_components() + galfitax.Gaussian2D(flux=5.0, fwhm=2.0, x_0=10.0, y_0=10.0)
    before = trace_count()
    fresh(x, y)
    # one trace for the whole four-component tree, not one per component
    assert trace_count() == before + 1


def test_library_does_not_flip_global_x64():
    # conftest enables x64 for tests; check the library did not change what it found
    with jax.enable_x64(False):
        y, x = np.mgrid[0:8, 0:8]
        out = galfitax.Gaussian2D(flux=1.0, fwhm=2.0, x_0=4.0, y_0=4.0)(x, y)
        assert out.dtype == np.float64
        assert jax.numpy.ones(1).dtype == np.float32


def test_invalid_parameter_is_specific_error(grid):
    y, x = grid
    with pytest.raises(InvalidParameterError, match="r_eff.*-1.0"):
        galfitax.Sersic2D(r_eff=-1.0)(x, y)
    with pytest.raises(InvalidParameterError, match="n"):
        galfitax.Sersic2D(n=12.0)(x, y)
    with pytest.raises(InvalidParameterError, match="not finite"):
        galfitax.Sersic2D(flux=np.nan)(x, y)


def test_unsupported_astropy_leaf_is_clear_error(grid):
    from astropy.modeling.models import Gaussian2D as AstropyGaussian

    y, x = grid
    model = galfitax.Sersic2D() + AstropyGaussian()
    with pytest.raises(InvalidModelError, match="Gaussian2D"):
        galfitax.evaluate_model(model, x, y)


def test_plain_astropy_compound_with_const2d(grid):
    y, x = grid
    model = Const2D(3.0) + galfitax.Sersic2D(flux=10.0, r_eff=2.0, x_0=20.0, y_0=20.0)
    image = galfitax.evaluate_model(model, x, y)
    np.testing.assert_allclose(image, model(x, y), rtol=1e-12)


def test_scattered_points_match_grid(grid):
    y, x = grid
    model = galfitax.Sersic2D(flux=100.0, r_eff=1.5, n=4.0, x_0=20.4, y_0=21.7, ellip=0.4)
    image = model(x, y)
    rows = np.array([21, 22, 5, 40])
    cols = np.array([20, 21, 7, 3])
    np.testing.assert_allclose(model(x[rows, cols].astype(float), y[rows, cols].astype(float)),
                               image[rows, cols], rtol=1e-10, atol=1e-14)


def test_astropy_trf_fitter_accepts_compound(grid):
    y, x = grid
    truth = three_components()
    data = truth(x, y)
    start = truth.copy()
    start.flux_0 = 800.0
    start.r_eff_0 = 3.0
    start.x_0_1.tied = lambda m: m.x_0_0
    start.y_0_1.tied = lambda m: m.y_0_0
    fitted = TRFLSQFitter()(start, x, y, data)
    assert fitted.flux_0.value == pytest.approx(1000.0, rel=1e-4)
    assert fitted.r_eff_0.value == pytest.approx(4.0, rel=1e-4)
    assert fitted.x_0_1.value == fitted.x_0_0.value
