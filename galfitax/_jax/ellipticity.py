"""Cartesian ellipticity components: how the solver moves ``(ellip, theta)`` pairs.

In ``(ellip, theta)`` a round shape is a coordinate singularity: at
``ellip = 0`` the position angle has no gradient, and an ellipse whose start
points the wrong way must shrink to round and grow again along the other
axis, which Levenberg-Marquardt does slowly (or not at all: it stays on the
``ellip = 0`` bound, a saddle). The solver therefore moves such a pair as
its Cartesian components

    ``u1 = ellip cos(2 theta)``, ``u2 = ellip sin(2 theta)``

(the spin-2 ellipticity used for galaxy shapes, with ``ellip = 1 - b/a``
kept as its modulus), in which turning the position angle through a round
shape is a straight line. ``u1, u2`` live in the box ``[-emax, emax]``
(``emax`` the upper bound of ``ellip``); the modulus is capped at ``emax``
where the box corners exceed it.

The pairs are a static part of the program's structure (`ellipse_pairs`:
both parameters free); whether each is moved as ``u`` is a traced boolean
(`cartesian_mask`: ``ellip`` has the lower bound 0 and a finite upper
bound, ``theta`` is unbounded; other bounds cannot be expressed as a box
in ``u``), so the fitter can repeat a fit in ``(ellip, theta)`` with the
same compiled program. The solver's result is mapped back (`result_to_polar`):
parameters, ``J^T J`` and the gradient exactly, by the chain rule, and
``theta`` is returned within 90 degrees of its starting value (the same
ellipse).
"""

import jax.numpy as jnp
import numpy as np

__all__ = ["cartesian_mask", "ellipse_pairs", "from_cartesian", "result_to_polar",
           "to_cartesian"]

# ellipticity given to a start that is exactly round (see to_cartesian)
_ROUND_START = 1e-3


def ellipse_pairs(free_names):
    """Free-vector indices ``((ellip, theta), ...)`` of the components with both free.

    Parameters
    ----------
    free_names : sequence of str
        Names of the free parameters (``ellip``, ``theta`` or suffixed
        ``ellip_0``, ``theta_0`` in compound models).

    Returns
    -------
    tuple of tuple of int
        Hashable: part of the compiled program's structure. Which of them
        the solver moves as ``u1, u2`` is a traced input (`cartesian_mask`),
        so one program serves both ways.
    """
    position = {name: k for k, name in enumerate(free_names)}
    pairs = []
    for name, e in position.items():
        if name == "ellip" or name.startswith("ellip_"):
            t = position.get("theta" + name[len("ellip"):])
            if t is not None:
                pairs.append((int(e), int(t)))
    return tuple(pairs)


def cartesian_mask(pairs, lower, upper):
    """Which ``pairs`` qualify for Cartesian components, given the free parameters' bounds.

    ``ellip`` bounded by 0 below and by a finite value above, ``theta``
    unbounded (other bounds are not a box in ``u``).
    """
    return np.array([lower[e] == 0.0 and np.isfinite(upper[e]) and upper[e] > 0.0
                     and lower[t] == -np.inf and upper[t] == np.inf for e, t in pairs],
                    dtype=bool)


def to_cartesian(params, lower, upper, pairs, on):
    """``(params, lower, upper)`` with each pair's ``(ellip, theta)`` replaced by ``(u1, u2)``.

    Only where ``on`` (a boolean per pair) is true. A start exactly round
    becomes ``ellip = 1e-3`` along its ``theta``: at ``u = 0`` itself the
    model's derivatives in ``u`` vanish (the modulus has a cone there), and
    the solver would not move.
    """
    params, lower, upper = jnp.asarray(params), jnp.asarray(lower), jnp.asarray(upper)
    for k, (e, t) in enumerate(pairs):
        ellip = jnp.clip(params[..., e], jnp.minimum(_ROUND_START, 0.5 * upper[e]), upper[e])
        angle = 2.0 * params[..., t]
        emax = upper[e]
        params = (params.at[..., e].set(jnp.where(on[k], ellip * jnp.cos(angle), params[..., e]))
                  .at[..., t].set(jnp.where(on[k], ellip * jnp.sin(angle), params[..., t])))
        lower = lower.at[e].set(jnp.where(on[k], -emax, lower[e]))
        lower = lower.at[t].set(jnp.where(on[k], -emax, lower[t]))
        upper = upper.at[t].set(jnp.where(on[k], emax, upper[t]))
    return params, lower, upper


def _modulus_angle(u1, u2):
    """``(|u|, atan2(u2, u1))`` with finite derivatives at the origin (angle 0 there)."""
    r2 = u1 * u1 + u2 * u2
    positive = r2 > 0
    modulus = jnp.where(positive, jnp.sqrt(jnp.where(positive, r2, 1.0)), 0.0)
    angle = jnp.arctan2(jnp.where(positive, u2, 0.0), jnp.where(positive, u1, 1.0))
    return modulus, angle


def from_cartesian(params, upper, pairs, on):
    """Inverse of `to_cartesian` on the parameters (``theta`` in ``(-pi/2, pi/2]``)."""
    for k, (e, t) in enumerate(pairs):
        modulus, angle = _modulus_angle(params[..., e], params[..., t])
        params = (params.at[..., e].set(jnp.where(on[k], jnp.minimum(modulus, upper[e]),
                                                  params[..., e]))
                  .at[..., t].set(jnp.where(on[k], 0.5 * angle, params[..., t])))
    return params


def result_to_polar(result, theta_start, upper, pairs, on):
    """A solver result in ``(u1, u2)`` mapped back to ``(ellip, theta)`` (where ``on``).

    ``params`` by `from_cartesian`, with each ``theta`` moved by a multiple
    of ``pi`` to within ``pi/2`` of ``theta_start`` (the start's value of
    the free vector); ``jtj`` and ``grad`` by the chain rule
    (``M^T (J^T J) M`` and ``M^T g``, ``M = d(u)/d(ellip, theta)``), so the
    Fisher matrix and covariance are those of ``(ellip, theta)``; ``scale``
    (the solver's internal damping scale) becomes the new ``diag(J^T J)``.
    ``active`` keeps the flags of the other parameters; an ``ellip`` on its
    cap is flagged, ``theta`` never is.
    """
    if not pairs:
        return result
    params = from_cartesian(result.params, upper, pairs, on)
    n = params.shape[-1]
    jac = jnp.eye(n, dtype=params.dtype)
    active = result.active
    for k, (e, t) in enumerate(pairs):
        half_turn = jnp.where(on[k], jnp.round((params[t] - theta_start[t]) / jnp.pi), 0.0)
        params = params.at[t].add(-jnp.pi * half_turn)
        ellip, angle = params[e], 2.0 * params[t]
        cos, sin = jnp.cos(angle), jnp.sin(angle)
        # d(u1, u2) / d(ellip, theta)
        jac = (jac.at[e, e].set(jnp.where(on[k], cos, 1.0))
               .at[e, t].set(jnp.where(on[k], -2.0 * ellip * sin, 0.0))
               .at[t, e].set(jnp.where(on[k], sin, 0.0))
               .at[t, t].set(jnp.where(on[k], 2.0 * ellip * cos, 1.0)))
        active = (active.at[e].set(jnp.where(on[k], ellip >= upper[e], active[e]))
                  .at[t].set(jnp.where(on[k], False, active[t])))
    jtj = jac.T @ result.jtj @ jac
    return result._replace(params=params, jtj=jtj, grad=jac.T @ result.grad,
                           scale=jnp.where(jnp.any(on), jnp.diagonal(jtj), result.scale),
                           active=active)
