"""A bound-projected Levenberg-Marquardt least-squares solver as one ``jax.lax.while_loop``.

The solver minimises ``sum(r(p)**2)`` over a box ``lo <= p <= hi``. The whole
iteration (residuals, forward-mode Jacobian, damped normal equations, step
acceptance and damping updates, convergence tests) runs inside one traced
loop, so it compiles to a single XLA program and can be ``vmap``-ed over
independent problems of the same structure.

Algorithm
---------
* Marquardt scaling: the damping term is ``lam * D`` with ``D`` the running
  maximum of ``diag(J^T J)`` over the iterations (as MINPACK does), so
  parameters of very different magnitude (a flux of 1e4, an ellipticity of
  0.3) are damped consistently.
* Parameters whose ``diag(J^T J)`` is below 1e-20 of the largest (no
  influence on the model, e.g. a position angle at zero ellipticity) are
  held for that step instead of receiving a step divided by ~0.
* Bounds by projection: the trial point ``p + s`` is clipped onto the box.
  Parameters sitting on a bound whose gradient points out of the box are
  *active*: they are held fixed in the step (their row and column of the
  damped system are replaced by the identity), so the step is a projected
  Levenberg-Marquardt step on the remaining parameters.
* A trial point is accepted when the sum of squares decreases; on acceptance
  the damping is updated with the gain ratio ``rho`` as in Nielsen (1999),
  ``lam *= max(1/3, 1 - (2 rho - 1)^3)``. On rejection the next step is
  shortened as MINPACK shrinks its trust region: to the minimiser of the
  parabola through the sums of squares along the rejected step, kept within
  0.1-0.5 of its (scaled) length, with the smallest damping ``lam * 2**k``
  that gives so short a step (one retry where doubling the damping would
  need several: below ``lam ~ 1`` the step hardly changes with it).
* Convergence (MINPACK-like): relative actual and predicted decrease of the
  sum of squares below ``ftol``; scaled step below ``xtol`` times the scaled
  parameter norm; scaled projected gradient (cosine of the angle between the
  residual vector and the Jacobian columns) below ``gtol``. Also ``ftol``:
  at a newly accepted point, the decrease predicted for the undamped
  Gauss-Newton step on the parameters not held (the Newton decrement
  ``g^T (J^T J)^-1 g``) below ``ftol`` times the sum of squares, which
  saves the evaluation of a last step that would only confirm convergence.

Results are status codes, mapped to messages by :data:`STATUS_MESSAGES`.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "CONVERGED_STATUSES",
    "LMOptions",
    "LMResult",
    "STATUS_MESSAGES",
    "Status",
    "advance",
    "gram_matrix",
    "initial_state",
    "levenberg_marquardt",
    "residuals_and_jacobian",
]


class Status:
    """Integer result codes of :func:`levenberg_marquardt`."""

    RUNNING = 0
    FTOL = 1
    XTOL = 2
    GTOL = 3
    MAXITER = 4
    NONFINITE = 5


STATUS_MESSAGES = {
    Status.RUNNING: "not started",
    Status.FTOL: "converged: relative change of the statistic below ftol",
    Status.XTOL: "converged: relative step size below xtol",
    Status.GTOL: "converged: gradient (cosine with the residual vector) below gtol",
    Status.MAXITER: "stopped: maximum number of iterations reached before convergence",
    Status.NONFINITE: "failed: the statistic is not finite at the starting parameters",
}

CONVERGED_STATUSES = (Status.FTOL, Status.XTOL, Status.GTOL)

# relative size of diag(J^T J) below which a parameter is taken to have no influence
_NO_INFLUENCE = 1e-20


class LMOptions(NamedTuple):
    """Dynamic (traced) solver options: changing them never recompiles."""

    ftol: float = 1e-10
    xtol: float = 1e-10
    gtol: float = 1e-10
    maxiter: int = 500
    lam0: float = 1e-3


class LMResult(NamedTuple):
    """State and result of the solver.

    ``jtj`` and ``grad`` are ``J^T J`` and ``J^T r`` at ``params``; ``active``
    flags parameters held on a bound; ``aux`` is the auxiliary output of the
    residual function at ``params``; ``stale`` is true until the start has
    been evaluated (the first step evaluates it instead of moving).
    """

    params: jnp.ndarray
    residuals: jnp.ndarray
    chi2: jnp.ndarray
    jtj: jnp.ndarray
    grad: jnp.ndarray
    scale: jnp.ndarray
    lam: jnp.ndarray
    n_iter: jnp.ndarray
    nfev: jnp.ndarray
    njev: jnp.ndarray
    status: jnp.ndarray
    active: jnp.ndarray
    stale: jnp.ndarray
    ftol_met: jnp.ndarray
    xtol_met: jnp.ndarray
    aux: object


def residuals_and_jacobian(residual_fn, params, has_aux=False, tangent_batch=None):
    """``(r, J)`` (and ``aux``) with ``J = dr/dp`` of shape ``(len(r), len(p))``, forward mode.

    One primal evaluation plus one vectorised tangent pass per parameter
    (``jax.jvp`` under ``vmap``), never reverse mode. With ``has_aux`` the
    function returns ``(r, aux)`` and so does this, as ``(r, J, aux)``.

    With ``tangent_batch`` (an int smaller than ``len(p)``) the columns are
    built ``tangent_batch`` at a time by ``jax.jvp`` inside ``jax.lax.map``,
    re-evaluating the function for each batch: the linearisation point is
    never stored and the tangent intermediates exist for one batch only, so
    peak memory no longer grows with ``len(p)`` times the (sub-sampled)
    image size, at the price of ``len(p) / tangent_batch`` extra evaluations.
    """
    out = _residuals_and_jacobian_rows(residual_fn, params, has_aux, tangent_batch)
    return (out[0], out[1].T) + tuple(out[2:])


def _residuals_and_jacobian_rows(residual_fn, params, has_aux=False, tangent_batch=None):
    """As `residuals_and_jacobian`, with the Jacobian transposed: ``(len(p), len(r))``.

    One row per parameter is the layout both ways of building it produce, so
    no transposed copy of a large Jacobian is ever made.
    """
    n = params.shape[0]
    basis = jnp.eye(n, dtype=params.dtype)
    if tangent_batch is None or tangent_batch >= n:
        # vmap of jvp: the primal does not depend on the tangent, so it stays unbatched
        # and is computed once; tracing this is cheaper than jax.linearize
        def push_all(tangent):
            return jax.jvp(residual_fn, (params,), (tangent,), has_aux=has_aux)

        return jax.vmap(push_all, out_axes=(None, 0, None) if has_aux else (None, 0))(basis)

    def residuals_only(p):
        return residual_fn(p)[0] if has_aux else residual_fn(p)

    def push(tangent):
        # the barrier ties the linearisation point to the loop variable: otherwise XLA
        # hoists the primal computation out of the loop and keeps every intermediate
        # of the model alive across it, which is the memory this path exists to save
        point, tangent = jax.lax.optimization_barrier((params, tangent))
        return jax.jvp(residuals_only, (point,), (tangent,))[1]

    rows = jax.lax.map(push, basis, batch_size=tangent_batch)
    out = residual_fn(params)
    return (out[0], rows, out[1]) if has_aux else (out, rows)


# pixels per block of the Gram matrix J^T J (see gram_matrix)
_GRAM_BLOCK = 1 << 16


def gram_matrix(rows):
    """``rows @ rows.T`` (``J^T J`` from the Jacobian rows), summed over blocks of pixels.

    XLA's CPU matrix product of a wide ``(P, M)`` array with its transpose
    takes working copies of the size of the whole array (2 GB more for a
    5-component model on 2048 x 2048 pixels); summing the products of
    ``_GRAM_BLOCK``-pixel blocks needs one block at a time, and is no slower.
    """
    n, m = rows.shape
    blocks = m // _GRAM_BLOCK
    if blocks < 2:
        return rows @ rows.T

    def add_block(i, total):
        block = jax.lax.dynamic_slice_in_dim(rows, i * _GRAM_BLOCK, _GRAM_BLOCK, axis=1)
        return total + block @ block.T

    total = jax.lax.fori_loop(0, blocks, add_block, jnp.zeros((n, n), rows.dtype))
    rest = rows[:, blocks * _GRAM_BLOCK:]
    return total + rest @ rest.T


def _active_set(params, grad, lo, hi):
    return ((params <= lo) & (grad > 0)) | ((params >= hi) & (grad < 0))


def _solve_step(state, active, lam):
    """``(J^T J + lam D) s = -J^T r`` on the parameters not ``active`` (0 for those); may be nan."""
    free = ~active
    both_free = free[:, None] & free[None, :]
    matrix = jnp.where(both_free, state.jtj, 0.0)
    diag = jnp.where(free, jnp.diagonal(state.jtj) + lam * state.scale, 1.0)
    matrix = matrix.at[jnp.diag_indices_from(matrix)].set(diag)
    rhs = jnp.where(free, -state.grad, 0.0)
    return jnp.linalg.solve(matrix, rhs)


def _damped_step(state, active, lo, hi, lam=None):
    """Projected, Marquardt-scaled LM step from ``state`` (``active`` parameters held)."""
    step = _solve_step(state, active, state.lam if lam is None else lam)
    step = jnp.where(jnp.isfinite(step), step, 0.0)
    trial = jnp.clip(state.params + step, lo, hi)
    return trial, trial - state.params


# damping factors tried after a rejected step (see _damping_after_rejection)
_RETRY_FACTORS = 2.0 ** np.arange(1, 41)


def _damping_after_rejection(state, held, lo, hi, step, chi2_new):
    """Damping for the next trial after ``step`` was rejected.

    Along the rejected step the sum of squares is ``f(t) = f0 + 2 g.s t + c t^2``
    with ``c`` fixed by ``f(1) = chi2_new``; the next step should be about as
    long as ``f``'s minimiser, ``t* = -g.s / c``, kept within 0.1-0.5 of the
    rejected step's (scaled) length, as MINPACK shrinks its trust region. The
    damping is the smallest of ``lam * 2**k`` whose step is that short: one
    retry instead of several doublings when the first steps from a distant start
    are far too long (below ``lam ~ 1`` the step hardly changes with the damping).
    """
    slope = state.grad @ step
    curvature = chi2_new - state.chi2 - 2.0 * slope
    ratio = jnp.where(jnp.isfinite(curvature) & (curvature > 0),
                      -slope / jnp.where(curvature > 0, curvature, 1.0), 0.0)
    target = jnp.clip(ratio, 0.1, 0.5) * jnp.sqrt(jnp.sum(state.scale * step * step))
    lams = state.lam * _RETRY_FACTORS

    def length(lam):
        _, trial_step = _damped_step(state, held, lo, hi, lam)
        return jnp.sqrt(jnp.sum(state.scale * trial_step * trial_step))

    short = jax.vmap(length)(lams) <= target
    return jnp.where(jnp.any(short), lams[jnp.argmax(short)], lams[-1])


def _held(state, active):
    """Parameters held in a step: ``active`` bounds and those without influence.

    A parameter without influence (a position angle at zero ellipticity) would
    get a step of noise divided by ~0, so it is held like an active bound.
    """
    diagonal = jnp.diagonal(state.jtj)
    return active | (diagonal <= _NO_INFLUENCE * jnp.max(diagonal))


def _newton_decrement(state, held):
    """Decrease of the sum of squares predicted for the undamped (Gauss-Newton) step.

    ``g^T H^-1 g`` over the parameters not ``held``, with ``g = J^T r`` and
    ``H = J^T J``: what the local quadratic model says is left to gain,
    ``inf`` where the system cannot be solved.
    """
    step = _solve_step(state, held, 0.0)
    decrease = -(2.0 * state.grad @ step + step @ state.jtj @ step)
    return jnp.where(jnp.all(jnp.isfinite(step)) & jnp.isfinite(decrease), decrease, jnp.inf)


def _gradient_small(state, active, gtol):
    norm = jnp.sqrt(jnp.maximum(jnp.diagonal(state.jtj) * state.chi2, 0.0))
    cosine = jnp.where(active | (norm == 0), 0.0,
                       jnp.abs(state.grad) / jnp.where(norm == 0, 1.0, norm))
    return jnp.max(cosine) <= gtol


def initial_state(residual_fn, params0, lo, hi, options, out_shapes=None):
    """Solver state before the first evaluation (``params0`` clipped into the box).

    ``out_shapes`` (``(r, aux)`` of ``jax.ShapeDtypeStruct``), when the caller
    knows them, saves tracing ``residual_fn`` once more to find them.
    """
    dtype = params0.dtype
    params0 = jnp.clip(params0, lo, hi)
    if out_shapes is None:
        out_shapes = jax.eval_shape(residual_fn, params0)
    r_shape, aux_shape = out_shapes
    n = params0.shape[0]
    return LMResult(
        params=params0, residuals=jnp.zeros(r_shape.shape, dtype),
        chi2=jnp.asarray(jnp.inf, dtype),
        jtj=jnp.zeros((n, n), dtype), grad=jnp.zeros(n, dtype),
        scale=jnp.full(n, jnp.finfo(dtype).tiny, dtype),
        lam=jnp.asarray(options.lam0, dtype),
        n_iter=jnp.asarray(0), nfev=jnp.asarray(0), njev=jnp.asarray(0),
        status=jnp.asarray(Status.RUNNING), active=jnp.zeros(n, bool),
        stale=jnp.asarray(True), ftol_met=jnp.asarray(False), xtol_met=jnp.asarray(False),
        aux=jax.tree_util.tree_map(lambda leaf: jnp.zeros(leaf.shape, leaf.dtype), aux_shape),
    )



def advance(residual_fn, state, lo, hi, options, tangent_batch=None, max_steps=None):
    """Run the solver from ``state`` until it stops, or for at most ``max_steps`` evaluations.

    ``max_steps`` (a traced int, optional) lets a caller interleave other
    work: a batch driver refills the slots of problems that have finished
    (:func:`galfitax._jax.objective.run_batch_streaming`). The state carries
    everything, so advancing in pieces gives the same result as one call.
    """

    def body(state):
        first = state.stale  # nothing evaluated yet: the trial point is the start
        held = _held(state, _active_set(state.params, state.grad, lo, hi))
        trial, step = _damped_step(state, held, lo, hi)
        trial = jnp.where(first, state.params, trial)
        step = jnp.where(first, 0.0, step)

        r_new, rows, aux = _residuals_and_jacobian_rows(residual_fn, trial, has_aux=True,
                                                        tangent_batch=tangent_batch)
        chi2_new = jnp.sum(r_new * r_new)
        finite = jnp.isfinite(chi2_new)
        actual = state.chi2 - chi2_new
        predicted = -(2.0 * state.grad @ step + step @ state.jtj @ step)
        rho = jnp.where(predicted > 0, actual / jnp.where(predicted > 0, predicted, 1.0), 0.0)
        accepted = first | (finite & (actual > 0))
        jtj_new = gram_matrix(rows)

        def pick(new, old):
            return jnp.where(accepted, new, old)

        params = pick(trial, state.params)
        scale = pick(jnp.maximum(state.scale, jnp.diagonal(jtj_new)), state.scale)
        step_norm = jnp.sqrt(jnp.sum(scale * step * step))
        param_norm = jnp.sqrt(jnp.sum(scale * params * params))
        lam = jnp.where(accepted,
                        state.lam * jnp.maximum(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3),
                        _damping_after_rejection(state, held, lo, hi, step, chi2_new))
        new = state._replace(
            params=params, residuals=pick(r_new, state.residuals),
            chi2=pick(chi2_new, state.chi2), jtj=pick(jtj_new, state.jtj),
            grad=pick(rows @ r_new, state.grad), scale=scale,
            lam=jnp.where(first, state.lam, lam),
            n_iter=state.n_iter + jnp.where(first, 0, 1),
            nfev=state.nfev + 1, njev=state.njev + 1, stale=jnp.asarray(False),
            ftol_met=(~first & finite & (jnp.abs(actual) <= options.ftol * state.chi2)
                      & (predicted <= options.ftol * state.chi2) & (rho <= 2.0)),
            xtol_met=~first & (step_norm <= options.xtol * param_norm),
            aux=jax.tree_util.tree_map(pick, aux, state.aux),
        )
        active = _active_set(new.params, new.grad, lo, hi)
        # at a new point, the quadratic model may already say that less than ftol is left:
        # stop there rather than spend one more evaluation on a step that would confirm it
        nothing_left = accepted & finite & (
            _newton_decrement(new, _held(new, active)) <= options.ftol * new.chi2)
        new = new._replace(ftol_met=new.ftol_met | nothing_left)
        status = jnp.select(
            [~jnp.isfinite(new.chi2), new.ftol_met, new.xtol_met,
             _gradient_small(new, active, options.gtol), new.n_iter >= options.maxiter],
            [Status.NONFINITE, Status.FTOL, Status.XTOL, Status.GTOL, Status.MAXITER],
            Status.RUNNING,
        ).astype(state.status.dtype)
        return new._replace(status=status, active=active)

    if max_steps is None:
        return jax.lax.while_loop(lambda s: s.status == Status.RUNNING, body, state)

    def limited(carry):
        count, current = carry
        return count + 1, body(current)

    _, state = jax.lax.while_loop(
        lambda carry: (carry[1].status == Status.RUNNING) & (carry[0] < max_steps),
        limited, (jnp.asarray(0), state))
    return state


def levenberg_marquardt(residual_fn, params0, lo, hi, options, tangent_batch=None,
                        out_shapes=None):
    """Minimise ``sum(r(p)**2)`` for ``lo <= p <= hi`` (traceable, vmap-able).

    Every iteration evaluates the residuals *and* their Jacobian once, at the
    trial point (the first iteration's trial point is the start): an accepted
    step needs the Jacobian there anyway, so a separate residual-only
    evaluation would cost an extra model per iteration, and the loop body
    holds one copy of the model. Only a rejected step wastes its tangents
    (rare: the damping adapts). There is no branching, so the same program
    runs unchanged under ``vmap``.

    Parameters
    ----------
    residual_fn : callable
        ``p -> (r, aux)`` with ``r`` 1-D, traceable by JAX; ``aux`` is any
        pytree (e.g. model images) returned with the result at the solution.
    params0, lo, hi : jax.Array
        Start and box (``-inf``/``inf`` for unbounded); ``params0`` is
        clipped into the box first.
    options : LMOptions
        Tolerances, iteration limit and initial damping (traced values).
    tangent_batch : int, optional
        Build the Jacobian this many columns at a time (see
        :func:`residuals_and_jacobian`); for problems too large to hold every
        tangent at once.
    out_shapes : tuple, optional
        Shapes of ``residual_fn``'s outputs (see :func:`initial_state`).

    Returns
    -------
    LMResult
        At the solution, with ``residuals``, ``jtj``, ``grad`` and ``aux``
        evaluated there. ``nfev`` and ``njev`` both count the evaluations
        (each is a model and its Jacobian); ``n_iter`` counts the steps
        taken after the evaluation of the start.
    """
    state = initial_state(residual_fn, params0, lo, hi, options, out_shapes)
    return advance(residual_fn, state, lo, hi, options, tangent_batch)
