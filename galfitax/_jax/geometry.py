"""Elliptical geometry: rotation to the major axis and generalised radii."""

import jax.numpy as jnp
from galfitax._jax.special import log_gamma

__all__ = ["elliptical_radius", "rotate", "safe_norm", "unit_ellipse_area"]


def rotate(dx, dy, theta):
    """Coordinates along the major and minor axes.

    ``theta`` is the angle of the major axis, radians counter-clockwise from +x.
    """
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    return dx * cos + dy * sin, -dx * sin + dy * cos


def safe_norm(a, b):
    """``sqrt(a**2 + b**2)`` with a finite (zero) derivative at the origin."""
    r2 = a * a + b * b
    positive = r2 > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, r2, 1.0)), 0.0)


def _safe_power(t, p):
    """``t**p`` for ``t >= 0``, with finite derivatives (in ``t`` and ``p``) at ``t = 0``."""
    positive = t > 0
    return jnp.where(positive, jnp.exp(p * jnp.log(jnp.where(positive, t, 1.0))), 0.0)


def _generalised_radius(a, b, c0):
    """``(|a|^p + |b|^p)^(1/p)``, ``p = c0 + 2``, scaled by the larger term to avoid overflow."""
    p = c0 + 2.0
    abs_a, abs_b = jnp.abs(a), jnp.abs(b)
    big = jnp.maximum(abs_a, abs_b)
    positive = big > 0
    safe_big = jnp.where(positive, big, 1.0)
    ratio = _safe_power(jnp.minimum(abs_a, abs_b) / safe_big, p)
    return jnp.where(positive, safe_big * jnp.exp(jnp.log1p(ratio) / p), 0.0)


def _is_static_zero(value):
    """True for a Python (non-traced) zero: a ``c0`` fixed at 0 in the render plan."""
    return isinstance(value, (int, float)) and value == 0


def elliptical_radius(x_maj, x_min, q, c0):
    """Generalised elliptical radius ``(|x_maj|^p + |x_min/q|^p)^(1/p)``, ``p = c0 + 2``.

    ``c0 = 0`` is an ellipse; ``c0 < 0`` disky, ``c0 > 0`` boxy isophotes
    (GALFIT's C0 convention). The radius is homogeneous of degree one. A
    ``c0`` that is a Python zero (the plan's constant for a fixed ``c0 = 0``)
    selects the cheap ellipse formula at trace time; a traced ``c0`` always
    takes the general formula, whose derivatives (with respect to ``c0``
    too) are exact at ``c0 = 0``.
    """
    if _is_static_zero(c0):
        return safe_norm(x_maj, x_min / q)
    return _generalised_radius(x_maj, x_min / q, c0)


def unit_ellipse_area(q, c0):
    """Area inside generalised elliptical radius 1: ``4 q Gamma(1+1/p)^2 / Gamma(1+2/p)``.

    Equals ``pi q`` for ``c0 = 0``.
    """
    if _is_static_zero(c0):
        return jnp.pi * q
    p = c0 + 2.0
    return 4.0 * q * jnp.exp(2.0 * log_gamma(1.0 + 1.0 / p) - log_gamma(1.0 + 2.0 / p))
