"""Surface-brightness profiles as pure JAX functions.

Each profile is a small frozen object naming its parameters (in the order
of the matching astropy model). Rendering one component is two steps:

* ``c = profile.prepare(p, settings)`` turns the parameter dict ``p`` into a
  dict of per-component constants (the parameters plus derived scalars such
  as ``b_n`` and the normalisation), computed once per render so that the
  compiled graph holds each of them once;
* ``profile.surface_brightness(x, y, c)`` is the flux per unit area at
  positions ``x, y``; elliptical profiles also give ``radial(r, c)`` (surface
  brightness against the generalised elliptical radius) and
  ``enclosed(rho, c) = int_0^rho radial(s) s ds``, which the exact pixel
  integration uses (the flux inside radius ``rho`` is
  ``2 A enclosed(rho)``, ``A`` the area of the unit (generalised) ellipse).

Elliptical profiles share the geometry parameters ``x_0, y_0, ellip, theta,
c0`` (0-based pixel centre, ``ellip = 1 - b/a``, ``theta`` radians
counter-clockwise from +x, boxy/disky exponent ``c0``).
"""

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
from jax.nn import softplus

from galfitax._jax.geometry import (_is_static_zero, elliptical_radius, rotate,
                                    unit_ellipse_area)
from galfitax._jax.special import bessel_k1_scaled, gammainc_lower, log_gamma, sersic_bn

__all__ = ["PROFILES", "EllipticalProfile", "Profile", "get_profile"]

GEOMETRY = ("x_0", "y_0", "ellip", "theta", "c0")
FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
# radii below this fraction of a profile's scale are clamped where the
# surface brightness diverges (power-law cusps): only the exact patch
# integration, never a sample, sees the centre itself
_CUSP_FLOOR = 1e-12


def _gauss_legendre_01(order):
    nodes, weights = np.polynomial.legendre.leggauss(order)
    return 0.5 * (nodes + 1.0), 0.5 * weights


def _safe_pow(r, e):
    """``r**e`` for ``r >= 0`` with finite derivatives at ``r = 0``."""
    positive = r > 0
    return jnp.where(positive, jnp.where(positive, r, 1.0) ** e, 0.0)


@dataclass(frozen=True)
class Profile:
    """A profile known only through its surface brightness (sky, edge-on disk, point)."""

    kind: str
    param_names: tuple
    elliptical: bool = False
    # smooth on the pixel scale away from the centre (no edge, no thin disk): the
    # outskirts may be integrated from corrected centre samples
    smooth_outskirts: bool = False

    def prepare(self, p, settings):
        """Per-component constants: the parameters plus derived scalars, computed once."""
        return dict(p)

    def surface_brightness(self, x, y, c):
        raise NotImplementedError


@dataclass(frozen=True)
class EllipticalProfile(Profile):
    """A profile that depends on position only through the elliptical radius.

    Subclasses give ``shape(r, c)`` (unnormalised radial profile), optionally
    ``derived(c)`` (extra scalars, e.g. ``b_n``) and either a closed-form
    ``shape_enclosed(rho, c) = int_0^rho shape(s) s ds`` and
    ``shape_total(c)``, or leave them to fixed-order Gauss-Legendre
    quadrature (``settings.radial_quadrature`` nodes, substitution
    ``s = rho v**cusp_power`` to tame central cusps). ``amplitude_param``
    names the parameter that scales ``shape`` directly (surface brightness);
    otherwise ``flux`` is the total flux.
    """

    elliptical: bool = True
    smooth_outskirts: bool = True
    amplitude_param: str = ""
    cusp_power: int = 2        # s = rho * v**k substitution for the radial quadrature
    support_param: str = ""    # finite outer radius, if any

    def shape(self, r, c):
        raise NotImplementedError

    def derived(self, c):
        return {}

    # -- quadrature fall-backs -------------------------------------------------
    def shape_enclosed(self, rho, c):
        if self.support_param:
            rho = jnp.minimum(rho, c[self.support_param])
        v, w = _gauss_legendre_01(c["radial_order"])
        k = self.cusp_power
        u = v**k
        values = self.shape(rho[..., None] * u, c) * (k * u * v ** (k - 1))
        return rho**2 * jnp.sum(values * w, axis=-1)

    def shape_total(self, c):
        if self.support_param:
            return self.shape_enclosed(jnp.asarray(c[self.support_param]), c)
        raise NotImplementedError  # pragma: no cover - every unbounded profile overrides

    # -- normalised quantities -------------------------------------------------
    def prepare(self, p, settings):
        c = dict(p)
        c["radial_order"] = settings.radial_quadrature
        c["q"] = 1.0 - p["ellip"]
        c["inv_q"] = 1.0 / c["q"]
        c.update(self.derived(c))
        if self.amplitude_param:
            c["scale"] = p[self.amplitude_param]
        else:
            c["area"] = unit_ellipse_area(c["q"], p["c0"])
            c["scale"] = p["flux"] / (2.0 * c["area"] * self.shape_total(c))
        return c

    def radial(self, r, c):
        return c["scale"] * self.shape(r, c)

    def enclosed(self, rho, c):
        return c["scale"] * self.shape_enclosed(rho, c)

    def circularised(self, dx, dy, c):
        """Offsets along the major axis and along the minor axis divided by ``q``.

        In these coordinates an ellipse (``c0 = 0``) profile is circular.
        """
        x_maj, x_min = rotate(dx, dy, c["theta"])
        return x_maj, x_min * c["inv_q"]

    def circular_radius(self, a, b, c):
        """Generalised radius of circularised offsets ``a, b``."""
        return elliptical_radius(a, b, 1.0, c["c0"])

    def radius_of_offsets(self, dx, dy, c):
        """Generalised elliptical radius of offsets ``dx, dy`` from the centre."""
        return self.circular_radius(*self.circularised(dx, dy, c), c)

    def surface_brightness(self, x, y, c):
        return self.radial(self.radius_of_offsets(x - c["x_0"], y - c["y_0"], c), c)


@dataclass(frozen=True)
class _Sersic(EllipticalProfile):
    fixed_n: float = 0.0

    def derived(self, c):
        n = jnp.asarray(self.fixed_n if self.fixed_n else c["n"], dtype=float)
        b = sersic_bn(n)
        return {"n": n, "b": b, "inv_n": 1.0 / n, "log_r_eff": jnp.log(c["r_eff"]),
                # shape_total / r_eff^2 = n Gamma(2n) b^-2n
                "log_unit_total": jnp.log(n) + log_gamma(2.0 * n) - 2.0 * n * jnp.log(b)}

    def _scaled_from_log(self, log_r, positive, c):
        # b (r / r_eff)^(1/n) from log r, zero (with a zero derivative) at r = 0: one
        # log and one exp per point, where a power would cost two powers and a log
        # once differentiated (XLA's float64 power and log are its slowest
        # element-wise operations on the CPU; exp is vectorised)
        return c["b"] * jnp.where(positive, jnp.exp(c["inv_n"] * (log_r - c["log_r_eff"])), 0.0)

    def _scaled_radius(self, r, c):
        positive = r > 0
        return self._scaled_from_log(jnp.log(jnp.where(positive, r, 1.0)), positive, c)

    def shape(self, r, c):
        return jnp.exp(-self._scaled_radius(r, c))

    def surface_brightness(self, x, y, c):
        if not _is_static_zero(c["c0"]):
            return super().surface_brightness(x, y, c)
        # ellipse: log r = log(r^2) / 2, without the square root
        a, b = self.circularised(x - c["x_0"], y - c["y_0"], c)
        r2 = a * a + b * b
        positive = r2 > 0
        log_r = 0.5 * jnp.log(jnp.where(positive, r2, 1.0))
        return c["scale"] * jnp.exp(-self._scaled_from_log(log_r, positive, c))

    def shape_enclosed(self, rho, c):
        return self.shape_total(c) * gammainc_lower(2.0 * c["n"], self._scaled_radius(rho, c))

    def shape_total(self, c):
        return c["r_eff"] ** 2 * jnp.exp(c["log_unit_total"])


@dataclass(frozen=True)
class _Exponential(EllipticalProfile):
    def shape(self, r, c):
        return jnp.exp(-r / c["r_s"])

    def shape_enclosed(self, rho, c):
        x = rho / c["r_s"]
        return c["r_s"] ** 2 * -(jnp.expm1(-x) + x * jnp.exp(-x))

    def shape_total(self, c):
        return c["r_s"] ** 2


@dataclass(frozen=True)
class _Gaussian(EllipticalProfile):
    def derived(self, c):
        return {"sigma": c["fwhm"] * FWHM_TO_SIGMA}

    def shape(self, r, c):
        return jnp.exp(-0.5 * (r / c["sigma"]) ** 2)

    def shape_enclosed(self, rho, c):
        return c["sigma"] ** 2 * -jnp.expm1(-0.5 * (rho / c["sigma"]) ** 2)

    def shape_total(self, c):
        return c["sigma"] ** 2


@dataclass(frozen=True)
class _Moffat(EllipticalProfile):
    def derived(self, c):
        return {"core": c["fwhm"] / (2.0 * jnp.sqrt(2.0 ** (1.0 / c["alpha"]) - 1.0))}

    def shape(self, r, c):
        return (1.0 + (r / c["core"]) ** 2) ** (-c["alpha"])

    def shape_enclosed(self, rho, c):
        x2 = (rho / c["core"]) ** 2
        # 1 - (1 + x2)^(1 - alpha), accurate for small x2
        return self.shape_total(c) * -jnp.expm1((1.0 - c["alpha"]) * jnp.log1p(x2))

    def shape_total(self, c):
        return c["core"] ** 2 / (2.0 * (c["alpha"] - 1.0))


@dataclass(frozen=True)
class _Ferrers(EllipticalProfile):
    support_param: str = "r_out"
    smooth_outskirts: bool = False    # truncated at r_out

    def shape(self, r, c):
        x = jnp.clip(r / c["r_out"], 0.0, 1.0)
        return jnp.where(r < c["r_out"],
                         _safe_pow(1.0 - _safe_pow(x, 2.0 - c["beta"]), c["alpha"]), 0.0)


@dataclass(frozen=True)
class _King(EllipticalProfile):
    support_param: str = "r_t"
    smooth_outskirts: bool = False    # truncated at r_t

    def derived(self, c):
        return {"edge": (1.0 + (c["r_t"] / c["r_c"]) ** 2) ** (-1.0 / c["alpha"])}

    def shape(self, r, c):
        inside = jnp.minimum(r, c["r_t"]) / c["r_c"]
        inner = (1.0 + inside**2) ** (-1.0 / c["alpha"]) - c["edge"]
        return jnp.where(r < c["r_t"], _safe_pow(jnp.maximum(inner, 0.0), c["alpha"]), 0.0)


@dataclass(frozen=True)
class _Nuker(EllipticalProfile):
    amplitude_param: str = "amplitude"
    smooth_outskirts: bool = False    # alpha can make the break sharper than a pixel
    cusp_power: int = 8

    def shape(self, r, c):
        alpha, beta, gamma = c["alpha"], c["beta"], c["gamma"]
        x = jnp.maximum(r / c["r_b"], _CUSP_FLOOR)
        # normalised so that shape(r_b) = 1 (amplitude = surface brightness at r_b)
        return jnp.exp((beta - gamma) / alpha * jnp.log(2.0) - gamma * jnp.log(x)
                       + (gamma - beta) / alpha * jnp.log1p(x**alpha))


@dataclass(frozen=True)
class _CoreSersic(EllipticalProfile):
    amplitude_param: str = "amplitude"
    smooth_outskirts: bool = False    # alpha can make the break sharper than a pixel
    cusp_power: int = 8

    def derived(self, c):
        n, alpha, gamma = c["n"], c["alpha"], c["gamma"]
        b = sersic_bn(jnp.asarray(n, dtype=float))
        # normalised so that shape(r_b) = 1 (amplitude = surface brightness at r_b)
        log_prefactor = (-gamma / alpha * jnp.log(2.0)
                         + b * (2.0 ** (1.0 / alpha) * c["r_b"] / c["r_eff"]) ** (1.0 / n))
        return {"b": b, "log_prefactor": log_prefactor}

    def shape(self, r, c):
        n, alpha, gamma, r_b, r_e = c["n"], c["alpha"], c["gamma"], c["r_b"], c["r_eff"]
        safe_r = jnp.maximum(r, _CUSP_FLOOR * r_b)
        log_core = gamma / alpha * jnp.log1p((r_b / safe_r) ** alpha)
        log_outer = -c["b"] * ((safe_r**alpha + r_b**alpha) / r_e**alpha) ** (1.0 / (alpha * n))
        return jnp.exp(c["log_prefactor"] + log_core + log_outer)


@dataclass(frozen=True)
class _BrokenExponential(EllipticalProfile):
    amplitude_param: str = "amplitude"
    smooth_outskirts: bool = False    # the break can be sharper than a pixel

    def derived(self, c):
        return {"bend": (1.0 / c["h1"] - 1.0 / c["h2"]) / c["alpha"],
                "softplus_origin": softplus(-c["alpha"] * c["r_break"])}

    def shape(self, r, c):
        # imfit's form; shape(0) = 1 (amplitude = central surface brightness)
        outer = softplus(c["alpha"] * (r - c["r_break"])) - c["softplus_origin"]
        return jnp.exp(-r / c["h1"] + c["bend"] * outer)


def _sech2(z):
    """``sech(z)**2`` without overflow (finite derivatives for any ``z``)."""
    e = jnp.exp(-2.0 * jnp.abs(z))
    return 4.0 * e / (1.0 + e) ** 2


@dataclass(frozen=True)
class _EdgeOnDisk(Profile):
    def prepare(self, p, settings):
        c = dict(p)
        c["scale"] = p["flux"] / (2.0 * jnp.pi * p["r_s"] * p["h_s"])
        return c

    def surface_brightness(self, x, y, c):
        x_maj, x_min = rotate(x - c["x_0"], y - c["y_0"], c["theta"])
        return c["scale"] * bessel_k1_scaled(jnp.abs(x_maj) / c["r_s"]) * _sech2(x_min / c["h_s"])


@dataclass(frozen=True)
class _FlatSky(Profile):
    def surface_brightness(self, x, y, c):
        return jnp.broadcast_to(c["amplitude"], jnp.broadcast_shapes(jnp.shape(x), jnp.shape(y)))


@dataclass(frozen=True)
class _TiltedSky(Profile):
    def surface_brightness(self, x, y, c):
        return c["amplitude"] + c["slope_x"] * (x - c["x_0"]) + c["slope_y"] * (y - c["y_0"])


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
