"""The joint objective: several image terms sharing one parameter vector; Cash residuals."""

import jax
import numpy as np

from galfitax import Gaussian2D
from galfitax._jax.objective import (
    TermData,
    TermSpec,
    compiled_residuals,
    poisson_deviance_residual,
)
from galfitax._jax.precision import x64
from galfitax.models.core import model_plan


def test_two_terms_share_parameters_through_index_maps():
    """Term 2 re-uses term 1's shape parameters with its own flux (theta[7])."""
    model = Gaussian2D(flux=50.0, fwhm=3.0, x_0=7.3, y_0=8.1, ellip=0.2, theta=0.4)
    other = model.copy()
    other.flux = 80.0
    plan, _ = model_plan(model)
    theta = np.append(model.parameters, 80.0)
    specs = (TermSpec(plan, (16, 16), 1.0, tuple(range(7))),
             TermSpec(plan, (12, 16), 1.0, (7, 1, 2, 3, 4, 5, 6)))
    rng = np.random.default_rng(3)
    data = [rng.normal(size=(16, 16)), rng.normal(size=(12, 16))]
    weight = [np.full((16, 16), 0.5), np.where(rng.random((12, 16)) < 0.2, 0.0, 2.0)]
    terms = (TermData(data[0], weight[0], 0.0, 0.0, 0.0), TermData(data[1], weight[1], 2.0, 3.0,
                                                                    0.0))
    with x64():
        residuals = np.asarray(compiled_residuals(specs, "chi2")(theta, terms))
    y1, x1 = np.mgrid[0:16, 0:16]
    y2, x2 = np.mgrid[0:12, 0:16]
    expected = np.concatenate([((data[0] - model(x1, y1)) * weight[0]).ravel(),
                               ((data[1] - other(x2 + 2.0, y2 + 3.0)) * weight[1]).ravel()])
    np.testing.assert_allclose(residuals, expected, rtol=1e-12, atol=1e-12)


def test_poisson_deviance_residual_and_its_derivative():
    model = np.array([0.5, 3.0, 10.0, 10.0 + 1e-9, 200.0, 4.0])
    data = np.array([0.0, 1.0, 10.0, 10.0, 150.0, 7.0])
    with x64():
        r = np.asarray(poisson_deviance_residual(model, data))
        slope = np.asarray(jax.vmap(jax.grad(poisson_deviance_residual))(model, data))
    safe = np.where(data > 0, data, 1.0)
    deviance = 2 * (model - data + np.where(data > 0, data * np.log(safe / model), 0.0))
    deviance[3] = 1e-18 / 10.0  # (m - d)^2 / d to leading order: the naive form cancels
    np.testing.assert_allclose(r**2, deviance, rtol=1e-6, atol=1e-14)
    assert np.all(np.sign(r[[0, 1, 4]]) == 1) and r[5] < 0
    h = 1e-6
    with x64():
        numeric = (np.asarray(poisson_deviance_residual(model + h, data))
                   - np.asarray(poisson_deviance_residual(model - h, data))) / (2 * h)
    np.testing.assert_allclose(slope, numeric, rtol=1e-5)
    np.testing.assert_allclose(slope[2], 1 / np.sqrt(10.0), rtol=1e-12)
