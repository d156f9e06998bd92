"""Elliptical geometry: rotation to the major axis and generalised radii."""

import jax.numpy as jnp
from jax.scipy.special import gammaln

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


def elliptical_radius(x_maj, x_min, q, c0):
    """Generalised elliptical radius ``(|x_maj|^p + |x_min/q|^p)^(1/p)``, ``p = c0 + 2``.

    ``c0 = 0`` is an ellipse; ``c0 < 0`` disky, ``c0 > 0`` boxy isophotes
    (GALFIT's C0 convention). The radius is homogeneous of degree one.
    """
    y = x_min / q
    p = c0 + 2.0
    ellipse = safe_norm(x_maj, y)
    ax, ay = jnp.abs(x_maj), jnp.abs(y)
    big = jnp.maximum(ax, ay)
    safe_big = jnp.where(big > 0, big, 1.0)
    general = safe_big * ((ax / safe_big) ** p + (ay / safe_big) ** p) ** (1.0 / p)
    general = jnp.where(big > 0, general, 0.0)
    return jnp.where(c0 == 0, ellipse, general)


def unit_ellipse_area(q, c0):
    """Area inside generalised elliptical radius 1: ``4 q Gamma(1+1/p)^2 / Gamma(1+2/p)``.

    Equals ``pi q`` for ``c0 = 0``.
    """
    p = c0 + 2.0
    return 4.0 * q * jnp.exp(2.0 * gammaln(1.0 + 1.0 / p) - gammaln(1.0 + 2.0 / p))
