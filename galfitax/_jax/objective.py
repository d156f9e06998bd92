"""The fit objective: one residual vector over one or several images, and compiled fits.

A fit is described by

* a vector of **free** parameters ``p`` (what the solver moves);
* an affine map to the **global** parameter vector, ``theta = A @ p + b``.
  Fixed parameters live in ``b``; tied parameters are rows of ``A`` that
  combine free parameters (the fitter detects these affine ties from
  astropy's ``tied`` callables);
* a tuple of **terms**, one per image. Term ``t`` has a static
  :class:`TermSpec` (its render plan, image shape, pixel size and the
  ``index`` of each of its model parameters in ``theta``: its parameter
  vector is ``theta[index]``) and dynamic :class:`TermData` (data, weights,
  grid origin, sky level).

All terms share ``theta``, so a joint fit of several images (several bands,
each with its own model tree, PSF and sigma image) is one least-squares
problem: the residual vector is the concatenation of every term's
residuals. Masked pixels have weight 0 and contribute nothing.

Statistics
----------
``"chi2"``
    ``r = (data - model) * weight`` with ``weight = 1 / sigma`` (0 where masked).
``"cash"``
    Poisson maximum likelihood in imfit's "PMLR" form: with ``m = model + sky``
    and ``d = data + sky`` (counts, sky = background already subtracted from
    the data), ``r = sign(m - d) sqrt(2 (m - d + d ln(d / m)))`` times the
    0/1 weight. ``sum(r**2)`` is the Poisson deviance, so Levenberg-Marquardt
    minimises the Cash statistic up to a data-only constant.

:func:`compiled_fit` caches one jitted solver per (terms, statistic,
number of free parameters); data, weights, starting values, bounds, the
affine map and tolerances are traced arguments, so fitting another image
of the same shape and model structure never recompiles.
:func:`run_batch_streaming` fits many problems of one structure through a
``vmap``-ed version of the same solver.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from galfitax._jax import program_store
from galfitax._jax.ellipticity import from_cartesian, result_to_polar, to_cartesian
from galfitax._jax.lm import (Status, advance, gram_matrix, initial_state,
                              levenberg_marquardt, residuals_and_jacobian)
from galfitax._jax.precision import x64
from galfitax._jax.render import count_trace, render_plan_grid

__all__ = [
    "STATISTICS",
    "TermData",
    "TermSpec",
    "compiled_batch_stepper",
    "compiled_fit",
    "compiled_residuals",
    "default_batch_slots",
    "fisher_matrix",
    "global_parameters",
    "residual_vector",
    "run_batch_streaming",
    "run_fit",
    "term_images",
]

STATISTICS = ("chi2", "cash")


class TermSpec(NamedTuple):
    """Static description of one image term (hashable: part of the compile key).

    Attributes
    ----------
    plan : tuple
        Render plan of this term's model (:func:`galfitax.models.plan.build_plan`).
    shape : tuple of int
        ``(ny, nx)`` of the image (or fit region).
    h : float
        Pixel side of the grid, in the model's coordinate units.
    index : tuple of int
        For each parameter of the plan's vector, its index in ``theta``.
    """

    plan: tuple
    shape: tuple
    h: float
    index: tuple


class TermData(NamedTuple):
    """Dynamic arrays of one image term.

    Attributes
    ----------
    data : array (ny, nx)
        Image, with masked pixels set to a finite value (they get weight 0).
    weight : array (ny, nx)
        ``1/sigma`` for the chi2 statistic, 1 for Cash; 0 where masked.
    x_start, y_start : scalar
        Model coordinates of the centre of pixel ``[0, 0]``.
    sky : scalar
        Background already subtracted from ``data`` (Cash statistic only).
    """

    data: jnp.ndarray
    weight: jnp.ndarray
    x_start: jnp.ndarray
    y_start: jnp.ndarray
    sky: jnp.ndarray


def global_parameters(free, matrix, offset):
    """``theta = matrix @ free + offset``."""
    return matrix @ free + offset


def term_images(specs, theta, terms):
    """Model image of every term for the global parameters ``theta``."""
    images = []
    for spec, term in zip(specs, terms):
        pvec = theta[jnp.asarray(spec.index, dtype=int)]
        images.append(render_plan_grid(spec.plan, pvec, term.x_start, term.y_start, spec.h,
                                       spec.shape))
    return images


@jax.custom_jvp
def poisson_deviance_residual(model, data):
    """``sign(m - d) sqrt(2 (m - d + d ln(d/m)))``, smooth through ``m = d``.

    Written as ``2 d (t - log1p(t))`` with ``t = (m - d) / d`` so that it keeps
    full relative precision when ``m`` is close to ``d``; ``d <= 0`` gives
    ``2 (m - d)``.
    """
    model = jnp.maximum(model, jnp.finfo(model.dtype).tiny)
    positive = data > 0
    safe_data = jnp.where(positive, data, 1.0)
    t = (model - data) / safe_data
    deviance = jnp.where(positive, 2.0 * safe_data * (t - jnp.log1p(t)), 2.0 * (model - data))
    return jnp.sign(model - data) * jnp.sqrt(jnp.maximum(deviance, 0.0))


@poisson_deviance_residual.defjvp
def _poisson_deviance_jvp(primals, tangents):
    model, data = primals
    dmodel, _ = tangents
    r = poisson_deviance_residual(model, data)
    model = jnp.maximum(model, jnp.finfo(model.dtype).tiny)
    # dr/dm = (1 - d/m) / r, whose limit at m = d is 1/sqrt(d)
    near = jnp.abs(r) < 1e-6 * jnp.sqrt(model)
    safe_r = jnp.where(near, 1.0, r)
    slope = jnp.where(near, 1.0 / jnp.sqrt(model), (1.0 - data / model) / safe_r)
    return r, slope * dmodel


def _residuals_from_images(statistic, images, terms):
    pieces = []
    for image, term in zip(images, terms):
        if statistic == "chi2":
            pieces.append(((term.data - image) * term.weight).ravel())
        else:
            dev = poisson_deviance_residual(image + term.sky, term.data + term.sky)
            pieces.append((dev * term.weight).ravel())
    return jnp.concatenate(pieces)


def residual_vector(specs, statistic, theta, terms):
    """Concatenated, flattened, weighted residuals of all terms (see module docstring)."""
    return _residuals_from_images(statistic, term_images(specs, theta, terms), terms)


def fisher_matrix(specs, statistic, theta_fn, free, terms):
    """Fisher information of the free parameters at ``free``.

    chi2: ``J^T J`` of the weighted residuals. Cash: ``sum (dm/dp)^2 / m``
    over unmasked pixels (the Poisson Fisher matrix at the model), which
    differs from ``J^T J`` of the deviance residuals away from ``m = d``.
    """
    if statistic == "chi2":
        _, jac = residuals_and_jacobian(
            lambda p: residual_vector(specs, statistic, theta_fn(p), terms), free)
        return gram_matrix(jac.T)

    def scaled_model(p):
        pieces = []
        for image, term in zip(term_images(specs, theta_fn(p), terms), terms):
            mean = jax.lax.stop_gradient(jnp.maximum(image + term.sky, jnp.finfo(image.dtype).tiny))
            pieces.append((image * term.weight / jnp.sqrt(mean)).ravel())
        return jnp.concatenate(pieces)

    _, jac = residuals_and_jacobian(scaled_model, free)
    return gram_matrix(jac.T)


# Jacobian columns times image pixels held at once; larger problems (a 5-component
# model on 2048 x 2048 pixels) build the Jacobian in batches of columns, so that
# peak memory stays bounded (see lm.residuals_and_jacobian)
_JACOBIAN_BUDGET = 2**21


def _tangent_batch(specs, n_free):
    pixels = sum(int(np.prod(spec.shape)) for spec in specs)
    if pixels * n_free <= _JACOBIAN_BUDGET:
        return None
    return max(1, _JACOBIAN_BUDGET // pixels)


def _residual_function(specs, statistic, matrix, offset, terms, pairs=(), upper=None, on=None):
    """``p -> (r, images)``; ``p`` holds Cartesian ellipticities at the ``pairs`` ``on``.

    (see :mod:`galfitax._jax.ellipticity`; ``upper`` are the free parameters'
    upper bounds, which cap the ellipticity moduli).
    """
    def residual_fn(p):
        if pairs:
            p = from_cartesian(p, upper, pairs, on)
        images = term_images(specs, global_parameters(p, matrix, offset), terms)
        return _residuals_from_images(statistic, images, terms), tuple(images)

    return residual_fn


def _output_shapes(specs, dtype):
    """Shapes of the residual function's ``(r, images)``, known from the specs alone."""
    pixels = sum(int(np.prod(spec.shape)) for spec in specs)
    return (jax.ShapeDtypeStruct((pixels,), dtype),
            tuple(jax.ShapeDtypeStruct(tuple(spec.shape), dtype) for spec in specs))


def _fit(specs, statistic, pairs, free0, matrix, offset, lo, hi, terms, options, on):
    count_trace()
    residual_fn = _residual_function(specs, statistic, matrix, offset, terms, pairs, hi, on)
    start, lo_solver, hi_solver = to_cartesian(free0, lo, hi, pairs, on)
    result = levenberg_marquardt(residual_fn, start, lo_solver, hi_solver, options,
                                 tangent_batch=_tangent_batch(specs, free0.shape[-1]),
                                 out_shapes=_output_shapes(specs, free0.dtype))
    result = result_to_polar(result, free0, hi, pairs, on)
    return result._replace(aux=None), _fisher(specs, statistic, result, matrix, offset,
                                              terms), result.aux


def _fisher(specs, statistic, result, matrix, offset, terms):
    if statistic == "chi2":
        return result.jtj
    return fisher_matrix(specs, statistic, lambda p: global_parameters(p, matrix, offset),
                         result.params, terms)


@functools.lru_cache(maxsize=128)
def compiled_fit(specs, statistic, pairs=()):
    """Jitted ``(free0, matrix, offset, lo, hi, terms, options, on) -> (LMResult, fisher, images)``.

    ``fisher`` is the Fisher matrix of the free parameters at the solution
    (see :func:`fisher_matrix`), ``images`` the best-fit model image of each
    term. ``pairs`` (free-vector indices of ``(ellip, theta)`` pairs, see
    :func:`galfitax._jax.ellipticity.ellipse_pairs`) where the boolean
    ``on`` is true are moved by the solver as Cartesian ellipticities;
    inputs and results are in ``(ellip, theta)``. Many problems of one
    structure: :func:`run_batch_streaming`.
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    return jax.jit(functools.partial(_fit, specs, statistic, tuple(pairs)))


@functools.lru_cache(maxsize=128)
def compiled_residuals(specs, statistic):
    """Jitted ``(theta, terms) -> residual vector`` (for diagnostics after a fit)."""

    def residuals(theta, terms):
        count_trace()
        return residual_vector(specs, statistic, theta, terms)

    return jax.jit(residuals)


def run_fit(specs, statistic, free0, matrix, offset, lo, hi, terms, options, pairs=(),
            on=None):
    """Run the cached compiled fit on numpy inputs in float64; return numpy outputs.

    Parameters are those of :func:`compiled_fit` (``terms`` a tuple of
    :class:`TermData` of numpy arrays, ``options`` an :class:`LMOptions`).
    Returns ``(LMResult, fisher, images)`` with numpy leaves.
    """
    with x64():
        static = (specs, statistic, tuple(pairs))
        args = (free0, matrix, offset, lo, hi, terms, options, _mask(pairs, on))
        out = program_store.call("compiled_fit", static, compiled_fit(*static), args)
        return jax.tree_util.tree_map(np.asarray, out)


# in_axes of (state or free0, matrix, offset, lo, hi, terms, options, max_steps, on)
_BATCH_AXES = (0, None, 0, None, None, 0, None, None, None)


def _mask(pairs, on):
    """``on`` as a boolean array (all false when not given)."""
    return np.zeros(len(pairs), bool) if on is None else np.asarray(on, dtype=bool)


@functools.lru_cache(maxsize=128)
def compiled_batch_stepper(specs, statistic, pairs=()):
    """Jitted, ``vmap``-ed ``(states, matrix, offsets, lo, hi, terms, options, max_steps, on)``.

    Advances every problem of a batch by at most ``max_steps`` solver
    evaluations (:func:`galfitax._jax.lm.advance`); problems that have
    stopped stay as they are. Compiled once per (terms, statistic, pairs)
    and batch size. With ``pairs`` the states, ``lo`` and ``hi`` are those
    of the solver (Cartesian ellipticities, see
    :func:`galfitax._jax.ellipticity.to_cartesian`).
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")

    def step(state, matrix, offset, lo, hi, terms, options, max_steps, on):
        count_trace()
        # in the solver's box the ellipticity caps hi[e] are those of the parameters
        residual_fn = _residual_function(specs, statistic, matrix, offset, terms, pairs, hi, on)
        return advance(residual_fn, state, lo, hi, options,
                       _tangent_batch(specs, state.params.shape[-1]), max_steps)

    return jax.jit(jax.vmap(step, in_axes=_BATCH_AXES))


@functools.lru_cache(maxsize=128)
def _compiled_batch_to_polar(pairs):
    def to_polar(result, free0, hi, on):
        return result_to_polar(result, free0, hi, pairs, on)

    return jax.jit(jax.vmap(to_polar, in_axes=(0, 0, None, None)))


@functools.lru_cache(maxsize=128)
def _compiled_batch_fisher(specs, statistic):
    def fisher(result, matrix, offset, terms):
        count_trace()
        return _fisher(specs, statistic, result, matrix, offset, terms)

    return jax.jit(jax.vmap(fisher, in_axes=(0, None, 0, 0)))


def _take(tree, index):
    return jax.tree_util.tree_map(lambda leaf: leaf[index], tree)


def _put(tree, index, source, source_index):
    def put(leaf, src):
        leaf[index] = src[source_index]

    jax.tree_util.tree_map(put, tree, source)


def default_batch_slots():
    """Problems a ``vmap``-ed batch advances side by side on the default JAX backend.

    An accelerator needs many problems at once to fill it (256). On a CPU
    one problem already keeps a core busy and a wide ``vmap`` only adds
    evaluations wasted on problems that have stopped (measured on 64 x 64
    stamps: 8 slots 0.030 s per stamp, 64 slots 0.040 s), so 8 when the
    vmap mode is asked for there (``LevMarFitter.fit_batch`` runs independent
    fits on threads on a CPU by default).
    """
    return 8 if jax.default_backend() == "cpu" else 256


def run_batch_streaming(specs, statistic, free0, matrix, offsets, lo, hi, terms, options,
                        slots=None, steps=1, pairs=(), on=None):
    """Fit N independent problems of one structure through a fixed set of ``vmap`` slots.

    A ``vmap``-ed solver runs every problem until the slowest one stops. Here
    ``slots`` problems run side by side for at most ``steps`` evaluations at
    a time; between those rounds, the problems that have stopped leave their
    slot and the next ones waiting take it (their solver state starts
    fresh), so a slow problem holds one slot, not the batch. Results are
    those of separate fits: each problem's state only ever sees its own data.

    Parameters
    ----------
    specs, statistic, matrix, lo, hi, options
        As for :func:`compiled_fit` (shared by all problems).
    free0, offsets : numpy.ndarray, shape (N, ...)
        Starting free parameters and affine offsets of each problem.
    terms : tuple of TermData
        With a leading axis of length N on every array.
    slots : int, optional
        Problems advanced together (the compiled batch size; default
        :func:`default_batch_slots`). With fewer problems than slots the
        spare slots repeat the last problem and their results are dropped,
        so one compiled program serves batches of every size.
    steps : int
        Evaluations per round before slots are refilled. One: a slot whose
        problem has stopped is refilled before the next evaluation, so no
        evaluation is spent on a finished problem (a round trip to Python
        per evaluation costs less than those, measured on 64 x 64 stamps).
    pairs, on : tuple, array of bool
        ``(ellip, theta)`` pairs, and which of them the solver moves as
        Cartesian ellipticities (as for :func:`compiled_fit`).

    Returns
    -------
    (LMResult, fisher, images)
        As :func:`run_fit`, with numpy leaves carrying a leading axis of
        length N.
    """
    free0 = np.asarray(free0, dtype=float)
    offsets = np.asarray(offsets, dtype=float)
    n = free0.shape[0]
    slots = max(1, int(default_batch_slots() if slots is None else slots))
    # spare slots (fewer problems than slots) hold copies of the last problem
    spare = np.minimum(np.arange(slots), n - 1)
    with x64():
        # the state before any evaluation: zeros of known shapes, nothing to trace
        template = jax.tree_util.tree_map(np.asarray, initial_state(
            None, jnp.asarray(free0[0]), lo, hi, options, _output_shapes(specs, free0.dtype)))
        pairs = tuple(pairs)
        on = _mask(pairs, on)
        step = compiled_batch_stepper(specs, statistic, pairs)
        # the solver's starts and box (Cartesian ellipticities for `pairs`)
        starts, lo, hi = jax.tree_util.tree_map(
            np.asarray, to_cartesian(free0, np.asarray(lo, dtype=float),
                                     np.asarray(hi, dtype=float), pairs, on))

        def fresh(k):
            return template._replace(params=np.clip(starts[k], lo, hi))

        state = jax.tree_util.tree_map(lambda *leaves: np.stack(leaves),
                                       *[fresh(k) for k in spare])
        slot_terms = jax.tree_util.tree_map(lambda leaf: np.array(leaf[spare]), terms)
        slot_offsets = np.array(offsets[spare])
        owner = [k if k < n else -1 for k in range(slots)]
        waiting = min(slots, n)
        finished = [None] * n
        while any(k >= 0 for k in owner):
            state = jax.tree_util.tree_map(
                np.array, step(state, matrix, slot_offsets, lo, hi, slot_terms, options, steps, on))
            for slot, k in enumerate(owner):
                if k < 0 or state.status[slot] == Status.RUNNING:
                    continue
                finished[k] = jax.tree_util.tree_map(np.copy, _take(state, slot))
                if waiting < n:
                    _put(state, slot, fresh(waiting), ())
                    _put(slot_terms, slot, terms, waiting)
                    slot_offsets[slot] = offsets[waiting]
                    owner[slot] = waiting
                    waiting += 1
                else:
                    owner[slot] = -1
        result = jax.tree_util.tree_map(lambda *leaves: np.stack(leaves), *finished)
        if pairs:
            polar = _compiled_batch_to_polar(pairs)(result._replace(aux=None), free0, hi, on)
            result = jax.tree_util.tree_map(np.asarray, polar)._replace(aux=result.aux)
        if statistic == "chi2":
            fisher = result.jtj
        else:
            batch = _compiled_batch_fisher(specs, statistic)
            pieces = []
            for first in range(0, n, slots):
                # always `slots` problems (the last chunk padded by repetition): one program
                index = np.minimum(np.arange(first, first + slots), n - 1)
                pieces.append(np.asarray(batch(_take(result, index), matrix, offsets[index],
                                               _take(terms, index)))[:n - first])
            fisher = np.concatenate(pieces)
        return result._replace(aux=None), fisher, result.aux
