"""Turn astropy model trees into hashable render plans for :mod:`galfitax._jax.render`.

This is where the astropy world (models, parameters, compound trees) meets
the JAX world (flat parameter vectors, static plans). Leaves are galfitax
profiles or a few astropy models with exact JAX equivalents (``Const2D``,
``Planar2D``).
"""

from astropy.modeling import CompoundModel
from astropy.modeling.functional_models import Const2D, Planar2D

from galfitax.exceptions import InvalidModelError
from galfitax.settings import DEFAULT_SETTINGS

__all__ = ["PlanCheck", "build_plan", "leaf_models"]

_ARITHMETIC = ("+", "-", "*", "/")


class PlanCheck:
    """Hard validity limits of one parameter, checked at the numpy edge."""

    __slots__ = ("index", "name", "low", "high", "low_open", "high_open")

    def __init__(self, index, name, low, high, low_open, high_open):
        self.index, self.name = index, name
        self.low, self.high = low, high
        self.low_open, self.high_open = low_open, high_open

    def violated(self, value):
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return True
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            return True
        return False

    def describe(self):
        lo = "-inf" if self.low is None else repr(self.low)
        hi = "inf" if self.high is None else repr(self.high)
        return f"{'(' if self.low_open else '['}{lo}, {hi}{')' if self.high_open else ']'}"


def _foreign_leaf(model, offset):
    """Plan leaf for astropy models that have an exact galfitax equivalent."""
    if isinstance(model, Const2D):
        return ("leaf", "flat_sky", (("amplitude", offset),), (), DEFAULT_SETTINGS)
    if isinstance(model, Planar2D):
        names = model.param_names  # slope_x, slope_y, intercept
        index = {name: offset + i for i, name in enumerate(names)}
        return ("leaf", "tilted_sky",
                (("amplitude", index["intercept"]), ("slope_x", index["slope_x"]),
                 ("slope_y", index["slope_y"])),
                (("x_0", 0.0), ("y_0", 0.0)), DEFAULT_SETTINGS)
    raise InvalidModelError(
        f"galfitax cannot render {type(model).__name__!r} models; use galfitax profiles "
        "(and Const2D / Planar2D for skies)"
    )


def build_plan(model, offset=0):
    """Return ``(plan, checks, n_params)`` for an astropy model tree.

    Parameters
    ----------
    model : astropy.modeling.Model
        A galfitax profile, a compound of them with ``+ - * /``, or a
        galfitax wrapper node (e.g. PSF convolution).
    offset : int
        Index of the model's first parameter in the flat parameter vector.
    """
    if isinstance(model, CompoundModel):
        if model.op not in _ARITHMETIC:
            raise InvalidModelError(
                f"galfitax renders compound models built with + - * /, not {model.op!r}"
            )
        left, left_checks, n_left = build_plan(model.left, offset)
        right, right_checks, n_right = build_plan(model.right, offset + n_left)
        return ("op", model.op, left, right), left_checks + right_checks, n_left + n_right
    plan_node = getattr(model, "_galfitax_plan", None)
    if plan_node is not None:
        return plan_node(offset)
    return _foreign_leaf(model, offset), (), len(model.param_names)


def leaf_models(model):
    """The leaf models of a tree, left to right (wrappers count as one leaf)."""
    if isinstance(model, CompoundModel):
        return leaf_models(model.left) + leaf_models(model.right)
    return [model]
