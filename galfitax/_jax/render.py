"""Evaluate a static render plan (a model tree) with JAX, and cache compiled renderers.

A *plan* is a hashable nested tuple describing a model tree; it is built
from astropy models by :func:`galfitax.models.plan.build_plan`. Nodes:

``("leaf", kind, ((name, index), ...), ((name, constant), ...), settings)``
    a profile whose parameter ``name`` is ``pvec[index]`` or a constant;
``("op", op, left, right)``
    arithmetic (``+ - * /``) of two sub-plans;
``(node_type, ...)``
    other node types registered in ``NODE_RENDERERS`` (PSF convolution).

All renderers take the flat parameter vector ``pvec`` (astropy's
``model.parameters`` order) and a grid: ``x_start, y_start`` (centre of pixel
``[0, 0]``), pixel side ``h`` and ``shape`` (static).
"""

import functools
import operator

import jax
import jax.numpy as jnp

from galfitax._jax.integrate import render_grid, render_points

__all__ = [
    "NODE_RENDERERS",
    "compiled_grid_jacobian",
    "compiled_grid_renderer",
    "compiled_points_jacobian",
    "compiled_points_renderer",
    "leaf_params",
    "render_plan_grid",
    "render_plan_points",
    "trace_count",
]

_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
_TRACES = {"count": 0}

# node type -> function(plan, pvec, x_start, y_start, h, shape) -> image
NODE_RENDERERS = {}


def trace_count():
    """How many times a galfitax renderer or fitter has been traced (compiled) so far."""
    return _TRACES["count"]


def count_trace():
    """Record one trace; call from the Python body of functions passed to ``jax.jit``."""
    _TRACES["count"] += 1


def leaf_params(leaf, pvec):
    """Parameter dict of a leaf node."""
    _, _, indexed, constants, _ = leaf
    params = {name: pvec[index] for name, index in indexed}
    params.update(dict(constants))
    return params


def render_plan_grid(plan, pvec, x_start, y_start, h, shape):
    """Image of a plan on a regular grid."""
    node = plan[0]
    if node == "leaf":
        return render_grid(plan[1], leaf_params(plan, pvec), x_start, y_start, h, shape, plan[4])
    if node == "op":
        left = render_plan_grid(plan[2], pvec, x_start, y_start, h, shape)
        right = render_plan_grid(plan[3], pvec, x_start, y_start, h, shape)
        return _OPERATORS[plan[1]](left, right)
    return NODE_RENDERERS[node](plan, pvec, x_start, y_start, h, shape)


def render_plan_points(plan, pvec, x, y):
    """Unit-pixel integrals of a plan at scattered pixel centres."""
    node = plan[0]
    if node == "leaf":
        return render_points(plan[1], leaf_params(plan, pvec), x, y, plan[4])
    if node == "op":
        return _OPERATORS[plan[1]](render_plan_points(plan[2], pvec, x, y),
                                   render_plan_points(plan[3], pvec, x, y))
    raise NotImplementedError(
        f"a {node!r} node can only be evaluated on a regular pixel grid; "
        "pass x, y from numpy.mgrid / numpy.indices"
    )


@functools.lru_cache(maxsize=512)
def compiled_grid_renderer(plan, shape, h):
    """Jitted ``(pvec, x_start, y_start) -> image``, compiled once per plan, shape and ``h``."""

    def render(pvec, x_start, y_start):
        count_trace()
        return render_plan_grid(plan, pvec, x_start, y_start, h, shape)

    return jax.jit(render)


@functools.lru_cache(maxsize=512)
def compiled_grid_jacobian(plan, shape, h):
    """Jitted ``(pvec, x_start, y_start) -> d image / d pvec`` (forward mode), shape (P, ny, nx)."""

    def jacobian(pvec, x_start, y_start):
        count_trace()
        jac = jax.jacfwd(render_plan_grid, argnums=1)(plan, pvec, x_start, y_start, h, shape)
        return jnp.moveaxis(jac, -1, 0)

    return jax.jit(jacobian)


@functools.lru_cache(maxsize=512)
def compiled_points_renderer(plan):
    """Jitted ``(pvec, x, y) -> values`` at scattered unit pixels."""

    def render(pvec, x, y):
        count_trace()
        return render_plan_points(plan, pvec, x, y)

    return jax.jit(render)


@functools.lru_cache(maxsize=512)
def compiled_points_jacobian(plan):
    """Jitted ``(pvec, x, y) -> d values / d pvec``, shape ``(P,) + x.shape``."""

    def jacobian(pvec, x, y):
        count_trace()
        jac = jax.jacfwd(render_plan_points, argnums=1)(plan, pvec, x, y)
        return jnp.moveaxis(jac, -1, 0)

    return jax.jit(jacobian)
