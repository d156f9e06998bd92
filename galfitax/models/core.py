"""Base classes: galfitax profiles as astropy ``Fittable2DModel`` and their compounds.

The numpy boundary lives here: parameters and coordinates arrive as numpy
arrays, are validated, handed to one jitted JAX function for the whole model
tree, and the result is returned as a numpy array.
"""

import numpy as np
from astropy.modeling import CompoundModel, Fittable2DModel, Model

from galfitax._jax.precision import x64
from galfitax._jax.render import (
    compiled_grid_jacobian,
    compiled_grid_renderer,
    compiled_points_jacobian,
    compiled_points_renderer,
)
from galfitax.exceptions import InvalidImageError, InvalidModelError, InvalidParameterError
from galfitax.models.grid import detect_grid
from galfitax.models.plan import PlanCheck, build_plan
from galfitax.settings import DEFAULT_SETTINGS, IntegrationSettings

__all__ = ["GalfitaxCompoundModel", "Profile2D", "evaluate_model", "model_plan"]


def _scalar_parameters(params, names):
    values = []
    for name, value in zip(names, params):
        array = np.asarray(getattr(value, "value", value), dtype=float)
        if array.size != 1:
            raise InvalidModelError(
                f"galfitax models hold one value per parameter (no model sets); "
                f"parameter {name!r} has {array.size} values"
            )
        values.append(float(array.reshape(())))
    return np.array(values)


def _check_parameters(pvec, checks, names):
    for check in checks:
        value = pvec[check.index]
        if not np.isfinite(value):
            raise InvalidParameterError(f"parameter {names[check.index]!r} is not finite: {value}")
        if check.violated(value):
            raise InvalidParameterError(
                f"parameter {names[check.index]!r} = {value!r} is outside its valid range "
                f"{check.describe()}"
            )
    bad = ~np.isfinite(pvec)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise InvalidParameterError(f"parameter {names[index]!r} is not finite: {pvec[index]}")


def model_plan(model):
    """``(plan, checks)`` of a model, cached on the model instance's structure."""
    plan, checks, n_params = build_plan(model)
    if n_params != len(model.parameters):  # pragma: no cover - internal consistency
        raise InvalidModelError("parameter bookkeeping mismatch while planning the model")
    return plan, checks


def _evaluate(plan, checks, names, x, y, params, derivative):
    pvec = _scalar_parameters(params, names)
    _check_parameters(pvec, checks, names)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InvalidImageError("model coordinates x, y must be finite")
    grid = detect_grid(x, y)
    with x64():
        if grid is not None:
            compiled = (compiled_grid_jacobian if derivative else compiled_grid_renderer)(
                plan, grid.shape, grid.h)
            out = compiled(pvec, grid.x_start, grid.y_start)
        else:
            xb, yb = np.broadcast_arrays(x, y)
            compiled = (compiled_points_jacobian if derivative else compiled_points_renderer)(plan)
            out = compiled(pvec, np.ravel(xb), np.ravel(yb))
            out = np.reshape(np.asarray(out), (-1,) + xb.shape if derivative else xb.shape)
        out = np.asarray(out)
    if derivative:
        return list(out)
    return out


def evaluate_model(model, x, y, derivative=False):
    """Evaluate any galfitax-renderable model (including plain astropy compounds) with JAX.

    Parameters
    ----------
    model : astropy.modeling.Model
    x, y : array_like
        Pixel centres (0-based). A regular grid (``numpy.mgrid``) gets the
        fast grid renderer; other positions are treated as unit pixels.
    derivative : bool
        Return the list of derivatives with respect to every parameter
        instead of the values.
    """
    plan, checks = model_plan(model)
    return _evaluate(plan, checks, model.param_names, x, y, model.parameters, derivative)


class _JaxArithmetic:
    """``+ - * /`` that build `GalfitaxCompoundModel` trees."""

    _operators = ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
                  "__truediv__", "__rtruediv__")

    def __add__(self, other):
        return GalfitaxCompoundModel("+", self, other)

    def __radd__(self, other):
        return GalfitaxCompoundModel("+", other, self)

    def __sub__(self, other):
        return GalfitaxCompoundModel("-", self, other)

    def __rsub__(self, other):
        return GalfitaxCompoundModel("-", other, self)

    def __mul__(self, other):
        return GalfitaxCompoundModel("*", self, other)

    def __rmul__(self, other):
        return GalfitaxCompoundModel("*", other, self)

    def __truediv__(self, other):
        return GalfitaxCompoundModel("/", self, other)

    def __rtruediv__(self, other):
        return GalfitaxCompoundModel("/", other, self)


class _GalfitaxModelMeta(type(Fittable2DModel)):
    """astropy's model metaclass writes its own ``+ - * /`` into every class; put ours back."""

    def __new__(mcls, name, bases, members, **kwargs):
        cls = super().__new__(mcls, name, bases, members, **kwargs)
        for operator_name in _JaxArithmetic._operators:
            setattr(cls, operator_name, getattr(_JaxArithmetic, operator_name))
        return cls


class Profile2D(_JaxArithmetic, Fittable2DModel, metaclass=_GalfitaxModelMeta):
    """Base class of galfitax profiles: JAX ``evaluate`` and ``fit_deriv``.

    Model values are pixel integrals (flux per pixel) of the surface
    brightness, for pixels centred on ``x, y``. Subclasses set ``_kind`` (the
    registered JAX profile) and declare their ``Parameter`` descriptors in
    the same order as the JAX profile's parameter names.

    Parameters
    ----------
    integration : `~galfitax.IntegrationSettings`, optional
        Pixel-integration accuracy settings for this component.
    **kwargs
        Parameter values and the usual astropy model keywords.
    """

    _kind = None
    _valid_ranges = {}
    col_fit_deriv = True

    def __init__(self, *args, integration=None, **kwargs):
        if integration is None:
            integration = DEFAULT_SETTINGS
        if not isinstance(integration, IntegrationSettings):
            raise InvalidParameterError(
                f"integration must be an IntegrationSettings, got {type(integration).__name__}"
            )
        self.integration = integration
        super().__init__(*args, **kwargs)

    def _galfitax_plan(self, offset):
        names = self.param_names
        plan = ("leaf", self._kind, tuple((name, offset + i) for i, name in enumerate(names)),
                (), self.integration)
        checks = tuple(
            PlanCheck(offset + names.index(name), name, *limits)
            for name, limits in self._valid_ranges.items()
        )
        return plan, checks, len(names)

    def evaluate(self, x, y, *params):
        plan, checks, _ = self._galfitax_plan(0)
        return _evaluate(plan, checks, self.param_names, x, y, params, False)

    def fit_deriv(self, x, y, *params):
        plan, checks, _ = self._galfitax_plan(0)
        return _evaluate(plan, checks, self.param_names, x, y, params, True)


class GalfitaxCompoundModel(_JaxArithmetic, CompoundModel, metaclass=_GalfitaxModelMeta):
    """A compound of galfitax models evaluated as one jitted JAX function.

    Built automatically by ``+ - * /`` between galfitax models; behaves like
    an astropy `~astropy.modeling.CompoundModel` (parameter names with
    ``_0, _1 ...`` suffixes, ``bounds``, ``fixed``, ``tied``), but
    ``evaluate`` and ``fit_deriv`` go through a single compiled function for
    the whole tree.
    """

    def evaluate(self, *args, **kwargs):
        if self.op not in ("+", "-", "*", "/"):
            return super().evaluate(*args, **kwargs)
        args, _ = self._get_kwarg_model_parameters_as_positional(args, kwargs)
        x, y, params = args[0], args[1], args[2:]
        plan, checks = model_plan(self)
        return _evaluate(plan, checks, self.param_names, x, y, params, False)

    @property
    def fit_deriv(self):
        if self.op not in ("+", "-", "*", "/"):
            return None
        plan, checks = model_plan(self)
        names = self.param_names

        def fit_deriv(x, y, *params):
            return _evaluate(plan, checks, names, x, y, params, True)

        return fit_deriv

    @property
    def col_fit_deriv(self):
        return True


def is_model(value):
    """True for astropy models."""
    return isinstance(value, Model)
