"""Surface-brightness profiles as pure JAX functions.

Each profile is a small frozen object naming its parameters (in the order
of the matching astropy model) and providing:

* ``surface_brightness(x, y, p)``: flux per unit area at positions ``x, y``
  (``p`` maps parameter names to values);
* for elliptical profiles, ``radial(r, p)`` (surface brightness as a
  function of the generalised elliptical radius) and ``enclosed(rho, p)``,
  ``= int_0^rho radial(s) s ds``, which the exact pixel integration uses.

Elliptical profiles share the geometry parameters ``x_0, y_0, ellip, theta,
c0`` (0-based pixel centre, ``ellip = 1 - b/a``, ``theta`` radians
counter-clockwise from +x, boxy/disky exponent ``c0``).
"""

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
from jax.nn import softplus
from jax.scipy.special import gammainc, gammaln

from galfitax._jax.geometry import elliptical_radius, rotate, unit_ellipse_area
from galfitax._jax.special import bessel_k1, sersic_bn

__all__ = ["PROFILES", "EllipticalProfile", "Profile", "get_profile"]

GEOMETRY = ("x_0", "y_0", "ellip", "theta", "c0")
FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def _gauss_legendre_01(order):
    nodes, weights = np.polynomial.legendre.leggauss(order)
    return 0.5 * (nodes + 1.0), 0.5 * weights


@dataclass(frozen=True)
class Profile:
    """A profile known only through its surface brightness (sky, edge-on disk, point)."""

    kind: str
    param_names: tuple
    elliptical: bool = False

    def surface_brightness(self, x, y, p):
        raise NotImplementedError


@dataclass(frozen=True)
class EllipticalProfile(Profile):
    """A profile that depends on position only through the elliptical radius.

    Subclasses give ``shape(r, p)`` (unnormalised radial profile) and either a
    closed-form ``shape_enclosed(rho, p) = int_0^rho shape(s) s ds`` and
    ``shape_total(p)``, or leave them to fixed-order quadrature.
    ``amplitude_param`` names the parameter that scales ``shape`` directly
    (surface brightness); otherwise ``flux`` is the total flux.
    """

    elliptical: bool = True
    amplitude_param: str = ""
    cusp_power: int = 2        # u = v**k substitution for the radial quadrature
    support_param: str = ""    # finite outer radius, if any

    def shape(self, r, p):
        raise NotImplementedError

    # -- quadrature fall-backs -------------------------------------------------
    def _support(self, rho, p):
        return rho if not self.support_param else jnp.minimum(rho, p[self.support_param])

    def shape_enclosed(self, rho, p, order=48):
        rho = self._support(rho, p)
        v, w = _gauss_legendre_01(order)
        k = self.cusp_power
        u = v**k
        jac = k * v ** (k - 1)
        values = self.shape(rho[..., None] * u, p) * u * jac
        return rho**2 * jnp.sum(values * w, axis=-1)

    def shape_total(self, p, order=48):
        if self.support_param:
            return self.shape_enclosed(jnp.asarray(p[self.support_param]), p, order)
        raise NotImplementedError  # pragma: no cover - every unbounded profile overrides

    # -- normalised quantities -------------------------------------------------
    def scale(self, p, order=48):
        """Factor turning ``shape`` into surface brightness."""
        if self.amplitude_param:
            return p[self.amplitude_param]
        area = unit_ellipse_area(1.0 - p["ellip"], p["c0"])
        return p["flux"] / (2.0 * area * self.shape_total(p, order))

    def radial(self, r, p, order=48):
        return self.scale(p, order) * self.shape(r, p)

    def enclosed(self, rho, p, order=48):
        return self.scale(p, order) * self.shape_enclosed(rho, p, order)

    def elliptical_radius(self, x, y, p):
        x_maj, x_min = rotate(x - p["x_0"], y - p["y_0"], p["theta"])
        return elliptical_radius(x_maj, x_min, 1.0 - p["ellip"], p["c0"])

    def surface_brightness(self, x, y, p, order=48):
        return self.radial(self.elliptical_radius(x, y, p), p, order)


def _safe_pow(r, e):
    """``r**e`` for ``r >= 0`` with finite derivatives at ``r = 0``."""
    positive = r > 0
    return jnp.where(positive, jnp.where(positive, r, 1.0) ** e, 0.0)


@dataclass(frozen=True)
class _Sersic(EllipticalProfile):
    fixed_n: float = 0.0

    def _n(self, p):
        return self.fixed_n if self.fixed_n else p["n"]

    def _b(self, p):
        return sersic_bn(jnp.asarray(self._n(p), dtype=float))

    def shape(self, r, p):
        n, b = self._n(p), self._b(p)
        return jnp.exp(-b * _safe_pow(r / p["r_eff"], 1.0 / n))

    def shape_enclosed(self, rho, p, order=48):
        n, b = self._n(p), self._b(p)
        return self.shape_total(p) * gammainc(2.0 * n, b * _safe_pow(rho / p["r_eff"], 1.0 / n))

    def shape_total(self, p, order=48):
        n, b = self._n(p), self._b(p)
        return p["r_eff"] ** 2 * n * jnp.exp(gammaln(2.0 * n) - 2.0 * n * jnp.log(b))


@dataclass(frozen=True)
class _Exponential(EllipticalProfile):
    def shape(self, r, p):
        return jnp.exp(-r / p["r_s"])

    def shape_enclosed(self, rho, p, order=48):
        x = rho / p["r_s"]
        return p["r_s"] ** 2 * (1.0 - (1.0 + x) * jnp.exp(-x))

    def shape_total(self, p, order=48):
        return p["r_s"] ** 2


@dataclass(frozen=True)
class _Gaussian(EllipticalProfile):
    def shape(self, r, p):
        sigma = p["fwhm"] * FWHM_TO_SIGMA
        return jnp.exp(-0.5 * (r / sigma) ** 2)

    def shape_enclosed(self, rho, p, order=48):
        sigma = p["fwhm"] * FWHM_TO_SIGMA
        return sigma**2 * -jnp.expm1(-0.5 * (rho / sigma) ** 2)

    def shape_total(self, p, order=48):
        return (p["fwhm"] * FWHM_TO_SIGMA) ** 2


@dataclass(frozen=True)
class _Moffat(EllipticalProfile):
    def _gamma(self, p):
        return p["fwhm"] / (2.0 * jnp.sqrt(2.0 ** (1.0 / p["alpha"]) - 1.0))

    def shape(self, r, p):
        return (1.0 + (r / self._gamma(p)) ** 2) ** (-p["alpha"])

    def shape_enclosed(self, rho, p, order=48):
        gamma, alpha = self._gamma(p), p["alpha"]
        return gamma**2 / (2.0 * (alpha - 1.0)) * (1.0 - (1.0 + (rho / gamma) ** 2) ** (1.0 - alpha))

    def shape_total(self, p, order=48):
        return self._gamma(p) ** 2 / (2.0 * (p["alpha"] - 1.0))


@dataclass(frozen=True)
class _Ferrers(EllipticalProfile):
    support_param: str = "r_out"

    def shape(self, r, p):
        x = jnp.clip(r / p["r_out"], 0.0, 1.0)
        return jnp.where(r < p["r_out"],
                         _safe_pow(1.0 - _safe_pow(x, 2.0 - p["beta"]), p["alpha"]), 0.0)


@dataclass(frozen=True)
class _King(EllipticalProfile):
    support_param: str = "r_t"

    def shape(self, r, p):
        inv_alpha = 1.0 / p["alpha"]
        edge = (1.0 + (p["r_t"] / p["r_c"]) ** 2) ** (-inv_alpha)
        inner = (1.0 + (jnp.minimum(r, p["r_t"]) / p["r_c"]) ** 2) ** (-inv_alpha) - edge
        return jnp.where(r < p["r_t"], _safe_pow(jnp.maximum(inner, 0.0), p["alpha"]), 0.0)


@dataclass(frozen=True)
class _Nuker(EllipticalProfile):
    amplitude_param: str = "amplitude"
    cusp_power: int = 8

    def shape(self, r, p):
        alpha, beta, gamma = p["alpha"], p["beta"], p["gamma"]
        x = r / p["r_b"]
        safe_x = jnp.where(x > 0, x, 1.0)
        log_shape = ((beta - gamma) / alpha * jnp.log(2.0) - gamma * jnp.log(safe_x)
                     + (gamma - beta) / alpha * jnp.log1p(safe_x**alpha))
        return jnp.where(x > 0, jnp.exp(log_shape), jnp.where(gamma > 0, jnp.inf, 2.0 ** (
            beta / alpha)))


@dataclass(frozen=True)
class _CoreSersic(EllipticalProfile):
    amplitude_param: str = "amplitude"
    cusp_power: int = 8

    def shape(self, r, p):
        n, alpha, gamma, r_b, r_e = p["n"], p["alpha"], p["gamma"], p["r_b"], p["r_eff"]
        b = sersic_bn(jnp.asarray(n, dtype=float))
        safe_r = jnp.where(r > 0, r, 1.0)
        # normalised so that shape(r_b) = 1 (amplitude = surface brightness at r_b)
        log_prefactor = -gamma / alpha * jnp.log(2.0) + b * (2.0 ** (1.0 / alpha) * r_b / r_e) ** (
            1.0 / n)
        log_core = gamma / alpha * jnp.log1p((r_b / safe_r) ** alpha)
        log_outer = -b * ((safe_r**alpha + r_b**alpha) / r_e**alpha) ** (1.0 / (alpha * n))
        value = jnp.exp(log_prefactor + log_core + log_outer)
        return jnp.where(r > 0, value, jnp.where(gamma > 0, jnp.inf, jnp.exp(
            log_prefactor - b * (r_b / r_e) ** (1.0 / n))))


@dataclass(frozen=True)
class _BrokenExponential(EllipticalProfile):
    amplitude_param: str = "amplitude"

    def shape(self, r, p):
        h1, h2, r_b, alpha = p["h1"], p["h2"], p["r_break"], p["alpha"]
        bend = (1.0 / h1 - 1.0 / h2) / alpha * (softplus(alpha * (r - r_b)) - softplus(-alpha * r_b))
        return jnp.exp(-r / h1 + bend)


@dataclass(frozen=True)
class _EdgeOnDisk(Profile):
    def surface_brightness(self, x, y, p, order=48):
        x_maj, x_min = rotate(x - p["x_0"], y - p["y_0"], p["theta"])
        t = jnp.abs(x_maj) / p["r_s"]
        safe_t = jnp.where(t > 1e-8, t, 1e-8)
        radial = jnp.where(t > 1e-8, safe_t * bessel_k1(safe_t), 1.0)
        vertical = 1.0 / jnp.cosh(x_min / p["h_s"]) ** 2
        return p["flux"] / (2.0 * jnp.pi * p["r_s"] * p["h_s"]) * radial * vertical


@dataclass(frozen=True)
class _FlatSky(Profile):
    def surface_brightness(self, x, y, p, order=48):
        return jnp.broadcast_to(p["amplitude"], jnp.broadcast_shapes(jnp.shape(x), jnp.shape(y)))


@dataclass(frozen=True)
class _TiltedSky(Profile):
    def surface_brightness(self, x, y, p, order=48):
        return p["amplitude"] + p["slope_x"] * (x - p["x_0"]) + p["slope_y"] * (y - p["y_0"])


@dataclass(frozen=True)
class _PointSource(Profile):
    """A delta function: all flux in the pixel holding the centre (filled by the PSF)."""


PROFILES = {
    profile.kind: profile
    for profile in (
        _Sersic("sersic", ("flux", "r_eff", "n") + GEOMETRY),
        _Sersic("devaucouleurs", ("flux", "r_eff") + GEOMETRY, fixed_n=4.0),
        _Exponential("exponential", ("flux", "r_s") + GEOMETRY),
        _Gaussian("gaussian", ("flux", "fwhm") + GEOMETRY),
        _Moffat("moffat", ("flux", "fwhm", "alpha") + GEOMETRY),
        _Ferrers("ferrers", ("flux", "r_out", "alpha", "beta") + GEOMETRY),
        _King("king", ("flux", "r_c", "r_t", "alpha") + GEOMETRY),
        _Nuker("nuker", ("amplitude", "r_b", "alpha", "beta", "gamma") + GEOMETRY),
        _CoreSersic("core_sersic", ("amplitude", "r_eff", "n", "r_b", "alpha", "gamma")
                    + GEOMETRY),
        _BrokenExponential("broken_exponential", ("amplitude", "h1", "h2", "r_break", "alpha")
                           + GEOMETRY),
        _EdgeOnDisk("edge_on_disk", ("flux", "r_s", "h_s", "x_0", "y_0", "theta")),
        _FlatSky("flat_sky", ("amplitude",)),
        _TiltedSky("tilted_sky", ("amplitude", "slope_x", "slope_y", "x_0", "y_0")),
        _PointSource("point", ("flux", "x_0", "y_0")),
    )
}


def get_profile(kind):
    """The profile object registered under ``kind``."""
    return PROFILES[kind]
