"""GALFIT conventions <-> galfitax (astropy) parameters: the one place they are converted.

GALFIT (and imfit) describe a component with 1-based pixel centres, a
position angle ``pa`` in degrees counter-clockwise from +y, the axis ratio
``q = b/a``, magnitudes ``mag = zeropoint - 2.5 log10(flux / exptime)`` and,
for some profiles, a surface brightness in mag/arcsec^2
``mu = zeropoint - 2.5 log10(I / (exptime dx dy))`` with ``I`` in counts per
pixel and ``dx, dy`` the plate scale. galfitax (astropy) uses 0-based pixel
centres, ``theta = radians(pa + 90)`` (major axis, counter-clockwise from +x),
``ellip = 1 - q`` and total ``flux`` (or a surface-brightness ``amplitude`` per
pixel^2 for Nuker).

Each GALFIT component is described by a `ComponentSpec`: which galfitax class
it becomes, which parameter lines (``1)``, ``3)`` ... ``10)``, ``C0)``) it has
and what they mean. `galfit_to_model` and `model_to_galfit` convert one
component; every other module goes through them.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import beta as beta_function
from scipy.special import gammaln

from galfitax.exceptions import InvalidModelError, InvalidParameterError
from galfitax.models.profiles import (
    DeVaucouleurs2D,
    EdgeOnDisk2D,
    Exponential2D,
    Ferrers2D,
    FlatSky,
    Gaussian2D,
    King2D,
    Moffat2D,
    Nuker2D,
    PointSource2D,
    Sersic2D,
    TiltedSky,
)

__all__ = [
    "COMPONENTS",
    "ComponentSpec",
    "Photometry",
    "flux_to_mag",
    "galfit_errors",
    "galfit_name",
    "galfit_to_model",
    "mag_to_flux",
    "model_to_galfit",
    "pa_to_theta",
    "sb_to_intensity",
    "intensity_to_sb",
    "theta_to_pa",
    "wrap_pa",
]


@dataclass(frozen=True)
class Photometry:
    """Photometric calibration of an image, as in GALFIT's ``J)``, ``K)`` and EXPTIME.

    Parameters
    ----------
    zeropoint : float
        Magnitude zeropoint (GALFIT ``J)``).
    plate_scale : tuple of float
        ``(dx, dy)`` arcsec per pixel (GALFIT ``K)``), used by surface brightnesses.
    exptime : float
        Exposure time: GALFIT magnitudes are of ``flux / exptime``.

    Examples
    --------
    >>> from galfitax.io.conventions import Photometry
    >>> Photometry(zeropoint=25.0).pixel_area
    1.0
    """

    zeropoint: float = 0.0
    plate_scale: tuple = (1.0, 1.0)
    exptime: float = 1.0

    @property
    def pixel_area(self):
        """Pixel area in arcsec^2."""
        return float(self.plate_scale[0]) * float(self.plate_scale[1])


def mag_to_flux(mag, zeropoint, exptime=1.0):
    """Total counts for a GALFIT magnitude.

    Examples
    --------
    >>> from galfitax.io.conventions import mag_to_flux
    >>> float(mag_to_flux(20.0, 25.0))
    100.0
    """
    return exptime * 10.0 ** (-0.4 * (np.asarray(mag, dtype=float) - zeropoint))


def flux_to_mag(flux, zeropoint, exptime=1.0):
    """GALFIT magnitude of a total number of counts (``inf`` for flux <= 0).

    Examples
    --------
    >>> from galfitax.io.conventions import flux_to_mag
    >>> float(flux_to_mag(100.0, 25.0))
    20.0
    """
    flux = np.asarray(flux, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flux > 0, zeropoint - 2.5 * np.log10(np.where(flux > 0, flux, 1.0)
                                                             / exptime), np.inf)


def sb_to_intensity(mu, photometry):
    """Counts per pixel for a surface brightness in mag/arcsec^2."""
    return mag_to_flux(mu, photometry.zeropoint, photometry.exptime) * photometry.pixel_area


def intensity_to_sb(intensity, photometry):
    """Surface brightness in mag/arcsec^2 of an intensity in counts per pixel."""
    return flux_to_mag(np.asarray(intensity, dtype=float) / photometry.pixel_area,
                       photometry.zeropoint, photometry.exptime)


def pa_to_theta(pa):
    """astropy ``theta`` (radians CCW from +x) for a GALFIT/imfit PA (degrees CCW from +y).

    Examples
    --------
    >>> from galfitax.io.conventions import pa_to_theta
    >>> round(float(pa_to_theta(0.0)), 6)  # PA 0 = major axis along +y
    1.570796
    """
    return np.radians(np.asarray(pa, dtype=float) + 90.0)


def theta_to_pa(theta):
    """GALFIT PA in degrees (in (-180, 180]) for astropy ``theta`` in radians.

    Examples
    --------
    >>> from galfitax.io.conventions import theta_to_pa
    >>> round(float(theta_to_pa(0.0)), 6)
    -90.0
    """
    pa = np.degrees(np.asarray(theta, dtype=float)) - 90.0
    return 180.0 - np.mod(180.0 - pa, 360.0)


def wrap_pa(pa):
    """An ellipse's PA folded into (-90, 90] degrees (the axis has no direction).

    Examples
    --------
    >>> from galfitax.io.conventions import wrap_pa
    >>> float(wrap_pa(120.0))
    -60.0
    """
    return 90.0 - np.mod(90.0 - np.asarray(pa, dtype=float), 180.0)


def _unit_area(q, c0):
    """Area inside generalised elliptical radius 1 (``pi q`` for c0 = 0)."""
    p = c0 + 2.0
    return 4.0 * q * np.exp(2.0 * gammaln(1.0 + 1.0 / p) - gammaln(1.0 + 2.0 / p))


def _king_shape(r, r_c, r_t, alpha):
    edge = (1.0 + (r_t / r_c) ** 2) ** (-1.0 / alpha)
    inner = (1.0 + (np.minimum(r, r_t) / r_c) ** 2) ** (-1.0 / alpha) - edge
    return np.where(r < r_t, np.maximum(inner, 0.0) ** alpha, 0.0)


def _central_to_flux(kind, p):
    """Total flux per unit central intensity (counts / (counts per pixel))."""
    q = 1.0 - p.get("ellip", 0.0)
    area = _unit_area(q, p.get("c0", 0.0))
    if kind == "king":
        from scipy.integrate import quad  # imported here: scipy.integrate takes 0.2 s to import

        total = quad(lambda s: float(_king_shape(s, p["r_c"], p["r_t"], p["alpha"])) * s,
                     0.0, p["r_t"], limit=200, epsabs=0.0, epsrel=1e-10)[0]
        return 2.0 * area * total / float(_king_shape(0.0, p["r_c"], p["r_t"], p["alpha"]))
    if kind == "ferrer":
        k = 2.0 - p["beta"]
        total = p["r_out"] ** 2 * beta_function(2.0 / k, p["alpha"] + 1.0) / k
        return 2.0 * area * total
    if kind == "edgedisk":
        return 2.0 * np.pi * p["r_s"] * p["h_s"]
    raise InvalidModelError(f"no central-intensity normalisation for {kind!r}")  # pragma: no cover


@dataclass(frozen=True)
class ComponentSpec:
    """How one GALFIT component type maps onto a galfitax model class.

    Attributes
    ----------
    name : str
        GALFIT's name (``sersic``, ``expdisk`` ...).
    model_class : type
        The galfitax class it becomes (sky becomes `TiltedSky` or `FlatSky`).
    slots : tuple
        ``(label, keys, comment)`` of the parameter lines in feedme order:
        ``label`` is the line label (``"1"``, ``"3"``, ``"C0"``), ``keys`` the
        GALFIT quantities on that line (``("x", "y")``, ``("mag",)``).
    header : dict
        GALFIT imgblock header suffix of each key (``"re" -> "RE"``).
    brightness : str
        ``"mag"`` (total magnitude), ``"mu"`` (surface brightness) or ``"sky"``.
    """

    name: str
    model_class: type
    slots: tuple
    header: dict
    brightness: str = "mag"

    @property
    def keys(self):
        """All GALFIT quantities of this component, in feedme order."""
        return tuple(key for _, keys, _ in self.slots for key in keys)

    def slot_of(self, label):
        """Keys on the line with ``label`` (``None`` if this component has no such line)."""
        for slot, keys, _ in self.slots:
            if slot == label:
                return keys
        return None


_POS = ("1", ("x", "y"), "position x, y [pixel]")
_Q = ("9", ("q",), "axis ratio (b/a)")
_PA = ("10", ("pa",), "position angle (PA) [deg: Up=0, Left=90]")
_C0 = ("C0", ("c0",), "diskyness(-)/boxyness(+)")
_GEOM_HEADER = {"x": "XC", "y": "YC", "q": "AR", "pa": "PA", "c0": "C0"}


def _spec(name, model_class, middle, header, brightness="mag", geometry=True):
    slots = (_POS,) + middle + ((_Q, _PA, _C0) if geometry else ())
    return ComponentSpec(name, model_class, slots, {**_GEOM_HEADER, **header}, brightness)


COMPONENTS = {
    spec.name: spec
    for spec in (
        _spec("sersic", Sersic2D, (("3", ("mag",), "integrated magnitude"),
                                   ("4", ("re",), "R_e (effective radius) [pix]"),
                                   ("5", ("n",), "Sersic index n (de Vaucouleurs n=4)")),
              {"mag": "MAG", "re": "RE", "n": "N"}),
        _spec("devauc", DeVaucouleurs2D, (("3", ("mag",), "integrated magnitude"),
                                          ("4", ("re",), "R_e (effective radius) [pix]")),
              {"mag": "MAG", "re": "RE"}),
        _spec("expdisk", Exponential2D, (("3", ("mag",), "integrated magnitude"),
                                         ("4", ("rs",), "R_s (disk scale-length) [pix]")),
              {"mag": "MAG", "rs": "RS"}),
        _spec("gaussian", Gaussian2D, (("3", ("mag",), "integrated magnitude"),
                                       ("4", ("fwhm",), "FWHM [pix]")),
              {"mag": "MAG", "fwhm": "FWHM"}),
        _spec("moffat", Moffat2D, (("3", ("mag",), "integrated magnitude"),
                                   ("4", ("fwhm",), "FWHM [pix]"),
                                   ("5", ("powerlaw",), "powerlaw")),
              {"mag": "MAG", "fwhm": "FWHM", "powerlaw": "PLAW"}),
        _spec("nuker", Nuker2D, (("3", ("mu",), "mu(Rb) surface brightness [mag/arcsec^2]"),
                                 ("4", ("rb",), "Rb (break radius) [pix]"),
                                 ("5", ("alpha",), "alpha (sharpness of transition)"),
                                 ("6", ("beta",), "beta (outer powerlaw slope)"),
                                 ("7", ("gamma",), "gamma (inner powerlaw slope)")),
              {"mu": "MU", "rb": "RB", "alpha": "ALPHA", "beta": "BETA", "gamma": "GAMMA"},
              brightness="mu"),
        _spec("king", King2D, (("3", ("mu",), "mu(0) central surface brightness [mag/arcsec^2]"),
                               ("4", ("rc",), "Rc (core radius) [pix]"),
                               ("5", ("rt",), "Rt (truncation radius) [pix]"),
                               ("6", ("alpha",), "alpha (powerlaw, 2 = classical King)")),
              {"mu": "MU0", "rc": "RC", "rt": "RT", "alpha": "ALPHA"}, brightness="mu"),
        _spec("ferrer", Ferrers2D, (("3", ("mu",), "mu(0) central surface brightness"),
                                    ("4", ("rout",), "Rout (outer truncation radius) [pix]"),
                                    ("5", ("alpha",), "alpha (outer truncation sharpness)"),
                                    ("6", ("beta",), "beta (central slope)")),
              {"mu": "MU0", "rout": "ROUT", "alpha": "ALPHA", "beta": "BETA"},
              brightness="mu"),
        ComponentSpec("edgedisk", EdgeOnDisk2D, (
            _POS, ("3", ("mu",), "mu(0) central surface brightness [mag/arcsec^2]"),
            ("4", ("hs",), "h_s (disk scale-height) [pix]"),
            ("5", ("rs",), "R_s (disk scale-length) [pix]"), _PA),
            {"x": "XC", "y": "YC", "mu": "MU0", "hs": "HS", "rs": "RS", "pa": "PA"},
            brightness="mu"),
        ComponentSpec("psf", PointSource2D, (_POS, ("3", ("mag",), "total magnitude")),
                      {"x": "XC", "y": "YC", "mag": "MAG"}),
        ComponentSpec("sky", TiltedSky, (
            ("1", ("sky",), "sky background at center of fitting region [ADUs]"),
            ("2", ("dsdx",), "dsky/dx (sky gradient in x) [ADUs/pix]"),
            ("3", ("dsdy",), "dsky/dy (sky gradient in y) [ADUs/pix]")),
            {"sky": "SKY", "dsdx": "DSDX", "dsdy": "DSDY"}, brightness="sky"),
    )
}

# GALFIT size/shape keys -> galfitax parameter names (identity conversions).
_SHAPE_PARAMS = {
    "sersic": {"re": "r_eff", "n": "n"},
    "devauc": {"re": "r_eff"},
    "expdisk": {"rs": "r_s"},
    "gaussian": {"fwhm": "fwhm"},
    "moffat": {"fwhm": "fwhm", "powerlaw": "alpha"},
    "nuker": {"rb": "r_b", "alpha": "alpha", "beta": "beta", "gamma": "gamma"},
    "king": {"rc": "r_c", "rt": "r_t", "alpha": "alpha"},
    "ferrer": {"rout": "r_out", "alpha": "alpha", "beta": "beta"},
    "edgedisk": {"hs": "h_s", "rs": "r_s"},
    "psf": {},
    "sky": {},
}

_CLASS_NAMES = {spec.model_class: name for name, spec in COMPONENTS.items()}
_CLASS_NAMES[FlatSky] = "sky"


def galfit_name(model):
    """GALFIT component name of a galfitax model instance or class (``'sersic'`` ...).

    Examples
    --------
    >>> from galfitax import Exponential2D
    >>> from galfitax.io.conventions import galfit_name
    >>> galfit_name(Exponential2D())
    'expdisk'
    """
    cls = model if isinstance(model, type) else type(model)
    for klass in cls.__mro__:
        if klass in _CLASS_NAMES:
            return _CLASS_NAMES[klass]
    raise InvalidModelError(f"{cls.__name__} has no GALFIT equivalent")


def galfit_to_model(name, values, photometry, *, sky_reference=(0.0, 0.0), tilted=False):
    """galfitax class and parameter values for one GALFIT component.

    Parameters
    ----------
    name : str
        GALFIT component name (key of `COMPONENTS`).
    values : dict
        GALFIT quantities by key (``x, y, mag, re, n, q, pa, c0`` ...); a
        missing ``c0`` means 0.
    photometry : Photometry
        Zeropoint, plate scale and exposure time.
    sky_reference : tuple of float
        0-based ``(x, y)`` where GALFIT's sky level applies (the fitting
        region's centre).
    tilted : bool
        Make a sky a `TiltedSky` even when its gradients are 0 (they are
        free); otherwise such a sky is a `FlatSky`.

    Returns
    -------
    model_class : type
    params : dict
        galfitax parameter values (0-based, theta, ellip, flux).

    Examples
    --------
    >>> from galfitax.io.conventions import Photometry, galfit_to_model
    >>> cls, p = galfit_to_model("sersic", dict(x=33.0, y=33.0, mag=20.0, re=5.0, n=2.0,
    ...                                         q=0.5, pa=0.0), Photometry(zeropoint=25.0))
    >>> cls.__name__, p["x_0"], round(p["flux"], 6), p["ellip"], round(p["theta"], 4)
    ('Sersic2D', 32.0, 100.0, 0.5, 1.5708)
    """
    spec = COMPONENTS[name]
    v = dict(values)
    if name == "sky":
        if v.get("dsdx", 0.0) == 0.0 and v.get("dsdy", 0.0) == 0.0 and not tilted:
            return FlatSky, {"amplitude": float(v["sky"])}
        return TiltedSky, {"amplitude": float(v["sky"]), "slope_x": float(v.get("dsdx", 0.0)),
                           "slope_y": float(v.get("dsdy", 0.0)),
                           "x_0": float(sky_reference[0]), "y_0": float(sky_reference[1])}
    params = {"x_0": float(v["x"]) - 1.0, "y_0": float(v["y"]) - 1.0}
    if "pa" in spec.keys:
        params["theta"] = float(pa_to_theta(v["pa"]))
    if "q" in spec.keys:
        q = float(v["q"])
        if not 0.0 < q <= 1.0 + 1e-12:
            raise InvalidParameterError(f"axis ratio q must be in (0, 1], got {q}")
        params["ellip"] = 1.0 - q
        params["c0"] = float(v.get("c0", 0.0))
    for key, param in _SHAPE_PARAMS[name].items():
        params[param] = float(v[key])
    if spec.brightness == "mag":
        params["flux"] = float(mag_to_flux(v["mag"], photometry.zeropoint, photometry.exptime))
    else:
        intensity = float(sb_to_intensity(v["mu"], photometry))
        if name == "nuker":
            params["amplitude"] = intensity
        else:
            params["flux"] = intensity * _central_to_flux(name, params)
    return spec.model_class, params


def _param_dict(model):
    return {name: float(np.asarray(getattr(model, name).value)) for name in model.param_names}


def model_to_galfit(model, photometry, params=None):
    """GALFIT name and quantities of one galfitax component (the inverse of `galfit_to_model`).

    Parameters
    ----------
    model : galfitax.Profile2D
        A single component (not a compound).
    photometry : Photometry
    params : dict, optional
        Parameter values to use instead of the model's own.

    Returns
    -------
    name : str
    values : dict
        GALFIT quantities by key; PA is folded into (-90, 90] for ellipses.

    Examples
    --------
    >>> from galfitax import Sersic2D
    >>> from galfitax.io.conventions import Photometry, model_to_galfit
    >>> name, v = model_to_galfit(Sersic2D(flux=100.0, r_eff=5.0, n=2.0, x_0=32.0, y_0=32.0,
    ...                                    ellip=0.5, theta=1.5707963), Photometry(25.0))
    >>> name, v["x"], round(v["mag"], 6), v["q"], round(v["pa"], 4)
    ('sersic', 33.0, 20.0, 0.5, -0.0)
    """
    name = galfit_name(model)
    spec = COMPONENTS[name]
    p = _param_dict(model) if params is None else dict(params)
    if name == "sky":
        return name, {"sky": p["amplitude"], "dsdx": p.get("slope_x", 0.0),
                      "dsdy": p.get("slope_y", 0.0)}
    values = {"x": p["x_0"] + 1.0, "y": p["y_0"] + 1.0}
    if spec.brightness == "mag":
        values["mag"] = float(flux_to_mag(p["flux"], photometry.zeropoint, photometry.exptime))
    elif name == "nuker":
        values["mu"] = float(intensity_to_sb(p["amplitude"], photometry))
    else:
        values["mu"] = float(intensity_to_sb(p["flux"] / _central_to_flux(name, p), photometry))
    for key, param in _SHAPE_PARAMS[name].items():
        values[key] = p[param]
    if "q" in spec.keys:
        values["q"] = 1.0 - p["ellip"]
        values["c0"] = p.get("c0", 0.0)
    if "pa" in spec.keys:
        values["pa"] = float(wrap_pa(theta_to_pa(p["theta"])))
    return name, {key: float(values[key]) for key in spec.keys}


def galfit_errors(model, photometry, stds, covariance=None):
    """1-sigma uncertainties of a component's GALFIT quantities.

    Propagated linearly (numerical Jacobian of `model_to_galfit`) from the
    standard deviations of the galfitax parameters, or from their covariance
    matrix when given (then correlations, e.g. between flux and ``r_eff`` in a
    surface brightness, are included).

    Parameters
    ----------
    model : galfitax.Profile2D
    photometry : Photometry
    stds : dict or None
        Standard deviation of each galfitax parameter name (missing or None =
        fixed, no uncertainty). None: nothing is known, every error is NaN.
    covariance : ndarray, optional
        Covariance of ``model.param_names`` (same order).

    Returns
    -------
    dict
        Uncertainty of each GALFIT quantity (0 for fixed ones).

    Examples
    --------
    >>> from galfitax import Sersic2D
    >>> from galfitax.io.conventions import Photometry, galfit_errors
    >>> e = galfit_errors(Sersic2D(flux=100.0, r_eff=5.0), Photometry(25.0), {"flux": 1.0})
    >>> round(e["mag"], 5), e["re"]
    (0.01086, 0.0)
    """
    p0 = _param_dict(model)
    names = list(model.param_names)
    _, base = model_to_galfit(model, photometry, p0)
    if stds is None and covariance is None:
        return {key: float("nan") for key in base}
    keys = list(base)
    jac = np.zeros((len(keys), len(names)))
    for j, pname in enumerate(names):
        sd = stds.get(pname) if covariance is None else np.sqrt(max(covariance[j, j], 0.0))
        if not sd:
            continue
        step = max(1e-6 * abs(p0[pname]), 1e-4 * sd, 1e-10)
        plus, minus = dict(p0), dict(p0)
        plus[pname] += step
        minus[pname] -= step
        _, vp = model_to_galfit(model, photometry, plus)
        _, vm = model_to_galfit(model, photometry, minus)
        for i, key in enumerate(keys):
            diff = vp[key] - vm[key]
            if key == "pa":
                diff = float(wrap_pa(diff))
            jac[i, j] = diff / (2.0 * step)
    if covariance is None:
        var = np.array([stds.get(n) or 0.0 for n in names]) ** 2
        errors = np.sqrt(jac**2 @ var)
    else:
        errors = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", jac, covariance, jac), 0.0, None))
    return {key: float(err) for key, err in zip(keys, errors)}
