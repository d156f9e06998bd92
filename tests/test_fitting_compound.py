"""LevMarFitter on bulge + disk + sky: tied centres, fixed index, astropy compounds, ties.

Every fit here has the same plan (Sersic + Sersic + flat sky) and the same
number of free parameters, so one compiled program serves the module.
"""

import numpy as np
import pytest
from astropy.modeling import CompoundModel
from astropy.modeling.fitting import TRFLSQFitter
from astropy.modeling.models import Const2D

from galfitax import LevMarFitter, Sersic2D
from galfitax._jax.render import trace_count
from galfitax.exceptions import InvalidModelError

SHAPE = (64, 64)


def components(bulge_flux=8e3, disk_flux=1.5e4, sky=3.0, x=31.4, y=32.3):
    bulge = Sersic2D(flux=bulge_flux, r_eff=2.5, n=4.0, x_0=x, y_0=y, ellip=0.3, theta=0.9)
    disk = Sersic2D(flux=disk_flux, r_eff=9.0, n=1.0, x_0=x, y_0=y, ellip=0.55, theta=1.1)
    return bulge, disk, sky


def tie_centres(model):
    model.n_1.fixed = True
    model.x_0_1.tied = lambda m: m.x_0_0
    model.y_0_1.tied = lambda m: m.y_0_0
    return model


@pytest.fixture(scope="module")
def grid():
    y, x = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    return x, y


@pytest.fixture(scope="module")
def observation(grid):
    bulge, disk, sky = components()
    clean = (bulge + disk)(*grid) + sky
    sigma = np.sqrt(clean + 100.0)
    data = clean + np.random.default_rng(11).normal(0.0, 1.0, SHAPE) * sigma
    return data, sigma


def start_galfitax():
    bulge, disk, sky = components(6e3, 1.2e4, 0.0, 32.0, 32.0)
    bulge.n, bulge.r_eff, disk.r_eff = 2.5, 3.5, 7.0
    from galfitax import FlatSky
    return tie_centres(bulge + disk + FlatSky(amplitude=0.0))


def start_astropy():
    bulge, disk, _ = components(6e3, 1.2e4, 0.0, 32.0, 32.0)
    bulge.n, bulge.r_eff, disk.r_eff = 2.5, 3.5, 7.0
    plain = CompoundModel("+", CompoundModel("+", bulge, disk), Const2D(amplitude=0.0))
    return tie_centres(plain)


@pytest.fixture(scope="module")
def galfitax_fit(grid, observation):
    data, sigma = observation
    fitter = LevMarFitter()
    fitted = fitter(start_galfitax(), *grid, data, sigma=sigma)
    return fitter, fitted


def test_bulge_disk_tied_centres_and_fixed_index(galfitax_fit):
    fitter, fitted = galfitax_fit
    info = fitter.fit_info
    assert info["converged"], info["message"]
    assert info["n_free"] == 12
    assert info["at_bounds"] == []
    assert "x_0_1" not in info["param_names"] and "n_1" not in info["param_names"]
    assert fitted.x_0_1.value == fitted.x_0_0.value
    assert fitted.y_0_1.value == fitted.y_0_0.value
    assert fitted.n_1.value == 1.0
    bulge, disk, sky = components()
    truth = (bulge + disk + Const2D(sky)).parameters
    names = fitted.param_names
    for name in info["param_names"]:
        pull = (fitted.parameters[names.index(name)] - truth[names.index(name)]) / fitted.stds[name]
        assert abs(pull) < 4, (name, pull)
    assert 0.9 < info["chi2_nu"] < 1.1


def test_plain_astropy_compound_with_const2d(grid, observation, galfitax_fit):
    """astropy CompoundModel + Const2D is fitted by the same compiled program."""
    data, sigma = observation
    before = trace_count()
    fitter = LevMarFitter()
    fitted = fitter(start_astropy(), *grid, data, sigma=sigma)
    assert trace_count() == before
    assert type(fitted) is CompoundModel
    np.testing.assert_allclose(fitted.parameters, galfitax_fit[1].parameters, rtol=1e-9)


def test_agrees_with_astropy_trf_fitter(grid, observation, galfitax_fit):
    """Same minimum and (absolute-sigma) covariance as astropy's TRFLSQFitter.

    astropy drops the columns of tied parameters from an analytic ``fit_deriv``
    without the chain rule, so its Jacobian is estimated by finite differences.
    """
    data, sigma = observation
    fitted = galfitax_fit[1]
    trf = TRFLSQFitter(calc_uncertainties=True)
    reference = trf(fitted.copy(), *grid, data, weights=1.0 / sigma, maxiter=50,
                    estimate_jacobian=True)
    dof = data.size - 12
    chi2 = np.sum(((data - reference(*grid)) / sigma) ** 2)
    ours = galfitax_fit[0].fit_info
    # the same minimum: chi2 within the tolerance of the stopping rule (ftol 1e-10) and
    # every free parameter within 1e-3 of its uncertainty (the bulge's flux and radius
    # lie along a flat valley, where a converged parameter moves ~1e-4 of its value;
    # tied ones follow their free parameter)
    assert abs(chi2 / ours["chi2"] - 1.0) < 1e-9
    for k, name in enumerate(fitted.param_names):
        difference = abs(reference.parameters[k] - fitted.parameters[k])
        if name in ours["param_names"]:
            assert difference < 1e-3 * fitted.stds[name], (name, difference)
        elif fitted.fixed[name]:
            assert difference == 0.0, name
    # astropy scales its covariance by chi2 / dof; undo that to compare
    astropy_cov = np.asarray(reference.cov_matrix.cov_matrix) / (chi2 / dof)
    np.testing.assert_allclose(np.sqrt(np.diag(astropy_cov)),
                               np.sqrt(np.diag(galfitax_fit[0].fit_info["param_cov"])),
                               rtol=2e-3)


def test_affine_ties_offsets_and_ratios_reuse_program(grid, observation):
    data, sigma = observation
    model = start_galfitax()
    model.y_0_1.tied = lambda m: m.y_0_0 + 0.0
    model.x_0_1.tied = lambda m: 2.0 * m.x_0_0 - 31.4  # an affine tie with a scale and offset
    before = trace_count()
    fitter = LevMarFitter()
    fitted = fitter(model, *grid, data, sigma=sigma)
    assert trace_count() == before
    np.testing.assert_allclose(fitted.x_0_1.value, 2 * fitted.x_0_0.value - 31.4, rtol=1e-12)
    assert fitter.fit_info["converged"]


def test_non_affine_tie_is_refused(grid, observation):
    data, sigma = observation
    model = start_galfitax()
    model.r_eff_1.tied = lambda m: m.r_eff_0 ** 2
    with pytest.raises(InvalidModelError, match="r_eff_1.*not an affine"):
        LevMarFitter()(model, *grid, data, sigma=sigma)
