"""astropy ``fixed`` / ``tied`` / ``bounds`` as an affine map from free to all parameters.

Inside the compiled fit every model parameter is ``theta = A @ p + b`` with
``p`` the free parameters. Fixed parameters are constant rows of ``b``; tied
parameters are found by *probing* the user's ``tied`` callables: they are
evaluated (the way astropy's fitters evaluate them) on a copy of the model
at the starting point and at one displaced point per free parameter, which
gives ``A`` and ``b`` if the tie is affine, and at one more random point to
verify that it is. Non-affine ties (``x**2``, ``sin(x)``, ...) are refused
with a clear error: they cannot be expressed inside the compiled program.
"""

import numpy as np
from astropy.modeling.fitting import fitter_to_model_params_array

from galfitax.exceptions import InvalidModelError, InvalidParameterError

__all__ = ["ParameterMap", "parameter_map"]

# relative tolerance of the affinity check of tied parameters
_AFFINE_RTOL = 1e-9


class ParameterMap:
    """Free <-> full parameter bookkeeping of one model.

    Attributes
    ----------
    names : tuple of str
        All parameter names (``model.param_names``).
    free_index : numpy.ndarray of int
        Indices of the free parameters in the full vector.
    matrix : numpy.ndarray, shape (n_params, n_free)
        ``A`` in ``theta = A @ p + b``.
    offset : numpy.ndarray, shape (n_params,)
        ``b``, for the model's current fixed values.
    lower, upper : numpy.ndarray, shape (n_free,)
        Box of the free parameters (``-inf``/``inf`` when unbounded).
    """

    def __init__(self, names, free_index, matrix, offset, lower, upper, tied_names):
        self.names = tuple(names)
        self.free_index = np.asarray(free_index, dtype=int)
        self.matrix = matrix
        self.offset = offset
        self.lower = lower
        self.upper = upper
        self.tied_names = tuple(tied_names)

    @property
    def free_names(self):
        """Names of the free parameters, in solver order."""
        return tuple(self.names[i] for i in self.free_index)

    def full(self, free):
        """All parameter values for free values ``free``."""
        return self.matrix @ np.asarray(free, dtype=float) + self.offset


def _full_parameters(probe, free):
    """astropy's own evaluation of fixed + tied parameters for free values ``free``."""
    values = fitter_to_model_params_array(probe, np.asarray(free, dtype=float),
                                          use_min_max_bounds=False)
    return np.asarray(values, dtype=float).copy()


def _box(model, names, free_index, checks):
    lower = np.full(len(free_index), -np.inf)
    upper = np.full(len(free_index), np.inf)
    position = {int(index): k for k, index in enumerate(free_index)}
    bounds = model.bounds      # astropy builds this dict on every access: read it once
    for k, index in enumerate(free_index):
        low, high = bounds[names[index]]
        if low is not None:
            lower[k] = float(low)
        if high is not None:
            upper[k] = float(high)
    # the renderer's hard validity limits (e.g. n in [0.2, 10]) bound the search too
    for check in checks:
        k = position.get(int(check.index))
        if k is None:
            continue
        if check.low is not None:
            low = check.low + (1e-9 * max(1.0, abs(check.low)) if check.low_open else 0.0)
            lower[k] = max(lower[k], low)
        if check.high is not None:
            high = check.high - (1e-9 * max(1.0, abs(check.high)) if check.high_open else 0.0)
            upper[k] = min(upper[k], high)
    bad = lower > upper
    if bad.any():
        name = names[free_index[int(np.flatnonzero(bad)[0])]]
        raise InvalidParameterError(f"parameter {name!r} has empty bounds {bounds[name]}")
    return lower, upper


def parameter_map(model, checks=()):
    """Build the `ParameterMap` of ``model`` (fixed, affine ties, bounds).

    Parameters
    ----------
    model : astropy.modeling.Model
    checks : sequence of `~galfitax.models.plan.PlanCheck`
        Validity limits of the renderer, intersected with the bounds.

    Raises
    ------
    InvalidModelError
        No free parameter, or a ``tied`` callable that is not affine in the
        free parameters.
    """
    names = model.param_names
    base = np.asarray(model.parameters, dtype=float).copy()
    # astropy builds these dicts on every access: read each once
    fixed, tied = model.fixed, model.tied
    tied_names = [name for name in names if tied[name]]
    free_index = np.array([i for i, name in enumerate(names)
                           if not fixed[name] and not tied[name]], dtype=int)
    if free_index.size == 0:
        raise InvalidModelError("the model has no free parameter to fit")
    n_params, n_free = len(names), free_index.size
    free0 = base[free_index]
    if not tied_names:
        matrix = np.zeros((n_params, n_free))
        matrix[free_index, np.arange(n_free)] = 1.0
        offset = base.copy()
        offset[free_index] = 0.0
    else:
        probe = model.copy()
        full0 = _full_parameters(probe, free0)
        steps = 0.5 * (1.0 + np.abs(free0))
        matrix = np.empty((n_params, n_free))
        for k in range(n_free):
            displaced = free0.copy()
            displaced[k] += steps[k]
            matrix[:, k] = (_full_parameters(probe, displaced) - full0) / steps[k]
        offset = full0 - matrix @ free0
        check_point = free0 + steps * np.random.default_rng(12345).uniform(-1.0, 1.0, n_free)
        actual = _full_parameters(probe, check_point)
        predicted = matrix @ check_point + offset
        scale = np.abs(actual) + np.abs(matrix) @ np.abs(check_point) + np.abs(offset) + 1.0
        bad = np.abs(actual - predicted) > _AFFINE_RTOL * scale
        if bad.any():
            name = names[int(np.flatnonzero(bad)[0])]
            raise InvalidModelError(
                f"the tie of parameter {name!r} is not an affine function of the free "
                "parameters (a * p + b); galfitax fits ties such as equal centres, fixed "
                "offsets and fixed ratios only"
            )
        if not np.all(np.isfinite(matrix)) or not np.all(np.isfinite(offset)):
            raise InvalidModelError("a tied parameter evaluates to a non-finite value")
    lower, upper = _box(model, names, free_index, checks)
    return ParameterMap(names, free_index, matrix, offset, lower, upper, tied_names)
