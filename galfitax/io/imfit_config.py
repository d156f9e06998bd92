"""imfit configuration files: reading, writing, and turning them into models.

An imfit config holds optional image settings (``GAIN``, ``READNOISE``,
``ORIGINAL_SKY``, ``NCOMBINE``, ``EXPTIME``) and one or more *function
blocks*: an ``X0``/``Y0`` pair followed by the ``FUNCTION`` sections that
share that centre. Parameter lines read ``name value [lo,hi | fixed]``.
imfit's conventions are GALFIT's (1-based pixels, PA in degrees
counter-clockwise from +y) with ``ell = 1 - b/a`` and intensities in counts
per pixel (``I_e`` at ``r_e`` for Sersic, central ``I_0`` for most others),
converted here to galfitax's total ``flux``.

Limits on an intensity become limits on the flux at the initial shape (the
flux/intensity ratio depends on ``r_e``, ``n`` and ``ell``).
"""

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from galfitax.exceptions import InputFileError, InvalidModelError
from galfitax.io.conventions import _central_to_flux, _unit_area, pa_to_theta
from galfitax.models.profiles import (
    BrokenExponential2D,
    CoreSersic2D,
    EdgeOnDisk2D,
    Exponential2D,
    FlatSky,
    Gaussian2D,
    King2D,
    Moffat2D,
    PointSource2D,
    Sersic2D,
    TiltedSky,
)

__all__ = ["ImfitConfig", "ImfitFunction", "ImfitParameter", "read_imfit_config",
           "write_imfit_config"]

_OPTIONS = ("GAIN", "READNOISE", "ORIGINAL_SKY", "NCOMBINE", "EXPTIME")
_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


@dataclass
class ImfitParameter:
    """One parameter line: value and either ``limits`` ``(lo, hi)`` or ``fixed``."""

    value: float
    limits: tuple = None
    fixed: bool = False
    line: int = field(default=None, compare=False)

    def to_text(self, name):
        """The parameter as a config line."""
        tail = "fixed" if self.fixed else (
            "" if self.limits is None else f"{self.limits[0]:.12g},{self.limits[1]:.12g}")
        return f"{name:<8s} {self.value:<20.12g} {tail}".rstrip()


@dataclass
class ImfitFunction:
    """A ``FUNCTION`` block and the centre (``X0``, ``Y0``) of its function block."""

    name: str
    params: dict
    x0: ImfitParameter = None
    y0: ImfitParameter = None
    group: int = 0
    label: str = None
    line: int = field(default=None, compare=False)


@dataclass
class ImfitConfig:
    """An imfit configuration file.

    Attributes
    ----------
    options : dict
        ``GAIN``, ``READNOISE``, ``ORIGINAL_SKY``, ``NCOMBINE``, ``EXPTIME``.
    functions : list of ImfitFunction
        In file order; functions with the same ``group`` share one centre.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from galfitax.io import read_imfit_config
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "config.dat"
    >>> _ = path.write_text('''GAIN 4.725
    ... X0 32.0 1,64
    ... Y0 33.0 1,64
    ... FUNCTION Exponential
    ... PA 0.0 fixed
    ... ell 0.5 0,1
    ... I_0 10.0 0,100
    ... h 5.0
    ... ''')
    >>> config = read_imfit_config(path)
    >>> model = config.build_model()
    >>> float(model.x_0.value), round(float(model.flux.value), 3), model.fixed["theta"]
    (31.0, 785.398, True)
    """

    options: dict = field(default_factory=dict)
    functions: list = field(default_factory=list)
    path: Path = field(default=None, compare=False)

    def build_model(self):
        """The galfitax model (sum of the functions in file order, shared centres tied)."""
        if not self.functions:
            raise InputFileError("the config has no FUNCTION", self.path)
        parts = [_function_model(func, self.path) for func in self.functions]
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        compound = len(parts) > 1
        first_of_group = {}
        for index, (func, part) in enumerate(zip(self.functions, parts)):
            if "x_0" not in part.param_names or isinstance(part, TiltedSky):
                continue
            if func.group not in first_of_group:
                first_of_group[func.group] = index
                continue
            ref = first_of_group[func.group]
            for pname in ("x_0", "y_0"):
                ref_name = f"{pname}_{ref}" if compound else pname
                getattr(total, f"{pname}_{index}").tied = _tie_same(ref_name)
        return total


def _tie_same(ref_name):
    def tied(model):
        return getattr(model, ref_name).value
    tied.reference = ref_name
    return tied


# -- per-function conversions -----------------------------------------------------------
def _q(v):
    return 1.0 - v["ell"]


def _area(v):
    return _unit_area(_q(v), v.get("c0", 0.0))


def _moffat_gamma(fwhm, beta):
    return fwhm / (2.0 * np.sqrt(2.0 ** (1.0 / beta) - 1.0))


def _sersic_flux(v):
    circ = Sersic2D.flux_from_amplitude(v["I_e"], v["r_e"], v["n"], v["ell"])
    return float(circ * _area(v) / (np.pi * _q(v)))


def _king_params(v):
    return {"r_c": v["r_c"], "r_t": v["r_t"], "alpha": v["alpha"], "ellip": v["ell"],
            "c0": v.get("c0", 0.0)}


# name -> (class, imfit parameter names, {astropy param: f(v)}, {imfit param: g(p)})
_FUNCTIONS = {
    "Sersic": (Sersic2D, ("PA", "ell", "n", "I_e", "r_e"),
               {"flux": _sersic_flux, "r_eff": lambda v: v["r_e"], "n": lambda v: v["n"]},
               {"n": lambda p: p["n"], "r_e": lambda p: p["r_eff"],
                "I_e": lambda p: p["flux"] / _sersic_flux(
                    {"I_e": 1.0, "r_e": p["r_eff"], "n": p["n"], "ell": p["ellip"],
                     "c0": p["c0"]})}),
    "Exponential": (Exponential2D, ("PA", "ell", "I_0", "h"),
                    {"flux": lambda v: 2.0 * _area(v) * v["h"] ** 2 * v["I_0"],
                     "r_s": lambda v: v["h"]},
                    {"h": lambda p: p["r_s"],
                     "I_0": lambda p: p["flux"] / (2.0 * _unit_area(1 - p["ellip"], p["c0"])
                                                   * p["r_s"] ** 2)}),
    "Gaussian": (Gaussian2D, ("PA", "ell", "I_0", "sigma"),
                 {"flux": lambda v: 2.0 * _area(v) * v["sigma"] ** 2 * v["I_0"],
                  "fwhm": lambda v: _FWHM_PER_SIGMA * v["sigma"]},
                 {"sigma": lambda p: p["fwhm"] / _FWHM_PER_SIGMA,
                  "I_0": lambda p: p["flux"] / (2.0 * _unit_area(1 - p["ellip"], p["c0"])
                                                * (p["fwhm"] / _FWHM_PER_SIGMA) ** 2)}),
    "Moffat": (Moffat2D, ("PA", "ell", "I_0", "fwhm", "beta"),
               {"flux": lambda v: _area(v) * _moffat_gamma(v["fwhm"], v["beta"]) ** 2
                * v["I_0"] / (v["beta"] - 1.0),
                "fwhm": lambda v: v["fwhm"], "alpha": lambda v: v["beta"]},
               {"fwhm": lambda p: p["fwhm"], "beta": lambda p: p["alpha"],
                "I_0": lambda p: p["flux"] * (p["alpha"] - 1.0) / (
                    _unit_area(1 - p["ellip"], p["c0"])
                    * _moffat_gamma(p["fwhm"], p["alpha"]) ** 2)}),
    "ModifiedKing": (King2D, ("PA", "ell", "I_0", "r_c", "r_t", "alpha"),
                     {"flux": lambda v: v["I_0"] * _central_to_flux("king", _king_params(v)),
                      "r_c": lambda v: v["r_c"], "r_t": lambda v: v["r_t"],
                      "alpha": lambda v: v["alpha"]},
                     {"r_c": lambda p: p["r_c"], "r_t": lambda p: p["r_t"],
                      "alpha": lambda p: p["alpha"],
                      "I_0": lambda p: p["flux"] / _central_to_flux("king", p)}),
    "BrokenExponential": (BrokenExponential2D, ("PA", "ell", "I_0", "h1", "h2", "r_break",
                                                "alpha"),
                          {"amplitude": lambda v: v["I_0"], "h1": lambda v: v["h1"],
                           "h2": lambda v: v["h2"], "r_break": lambda v: v["r_break"],
                           "alpha": lambda v: v["alpha"]},
                          {"I_0": lambda p: p["amplitude"], "h1": lambda p: p["h1"],
                           "h2": lambda p: p["h2"], "r_break": lambda p: p["r_break"],
                           "alpha": lambda p: p["alpha"]}),
    "Core-Sersic": (CoreSersic2D, ("PA", "ell", "n", "I_b", "r_e", "r_b", "alpha", "gamma"),
                    {"amplitude": lambda v: v["I_b"], "r_eff": lambda v: v["r_e"],
                     "n": lambda v: v["n"], "r_b": lambda v: v["r_b"],
                     "alpha": lambda v: v["alpha"], "gamma": lambda v: v["gamma"]},
                    {"I_b": lambda p: p["amplitude"], "r_e": lambda p: p["r_eff"],
                     "n": lambda p: p["n"], "r_b": lambda p: p["r_b"],
                     "alpha": lambda p: p["alpha"], "gamma": lambda p: p["gamma"]}),
    "EdgeOnDisk": (EdgeOnDisk2D, ("PA", "L_0", "h", "n", "z_0"),
                   {"flux": lambda v: 2.0 * v["h"] * v["L_0"] * 2.0 * np.pi * v["h"]
                    * 2.0 * v["z_0"], "r_s": lambda v: v["h"], "h_s": lambda v: 2.0 * v["z_0"]},
                   {"h": lambda p: p["r_s"], "z_0": lambda p: p["h_s"] / 2.0,
                    "n": lambda p: 1.0,
                    "L_0": lambda p: p["flux"] / (4.0 * np.pi * p["r_s"] ** 2 * p["h_s"])}),
    "PointSource": (PointSource2D, ("I_tot",), {"flux": lambda v: v["I_tot"]},
                    {"I_tot": lambda p: p["flux"]}),
    "FlatSky": (FlatSky, ("I_sky",), {"amplitude": lambda v: v["I_sky"]},
                {"I_sky": lambda p: p["amplitude"]}),
    "TiltedSkyPlane": (TiltedSky, ("I_0", "m_x", "m_y"),
                       {"amplitude": lambda v: v["I_0"], "slope_x": lambda v: v["m_x"],
                        "slope_y": lambda v: v["m_y"]},
                       {"I_0": lambda p: p["amplitude"], "m_x": lambda p: p["slope_x"],
                        "m_y": lambda p: p["slope_y"]}),
}
for _generic, _base in (("Sersic_GenEllipse", "Sersic"),
                        ("Exponential_GenEllipse", "Exponential")):
    _cls, _names, _to, _from = _FUNCTIONS[_base]
    _FUNCTIONS[_generic] = (_cls, _names[:2] + ("c0",) + _names[2:], _to, _from)

# imfit parameter -> galfitax parameter that carries its free/fixed state and limits
_CARRIER = {"PA": "theta", "ell": "ellip", "c0": "c0", "n": "n", "I_e": "flux", "r_e": "r_eff",
            "I_0": "flux", "h": "r_s", "sigma": "fwhm", "fwhm": "fwhm", "beta": "alpha",
            "r_c": "r_c", "r_t": "r_t", "alpha": "alpha", "I_b": "amplitude", "r_b": "r_b",
            "gamma": "gamma", "h1": "h1", "h2": "h2", "r_break": "r_break", "L_0": "flux",
            "z_0": "h_s", "I_tot": "flux", "I_sky": "amplitude", "m_x": "slope_x",
            "m_y": "slope_y"}


def _to_params(func, values):
    cls, _, to, _ = _FUNCTIONS[func.name]
    params = {name: float(f(values)) for name, f in to.items()}
    if "PA" in values:
        params["theta"] = float(pa_to_theta(values["PA"]))
    if "ell" in values:
        params["ellip"] = float(values["ell"])
        params["c0"] = float(values.get("c0", 0.0))
    if "x_0" in cls.param_names:
        params["x_0"] = values["X0"] - 1.0
        params["y_0"] = values["Y0"] - 1.0
    return cls, params


def _function_model(func, path):
    values = {name: p.value for name, p in func.params.items()}
    values["X0"], values["Y0"] = func.x0.value, func.y0.value
    if func.name == "EdgeOnDisk" and not (values["n"] == 1.0 and func.params["n"].fixed):
        raise InputFileError("EdgeOnDisk is supported with n fixed at 1 (a sech^2 disk)",
                             path, func.line)
    cls, params = _to_params(func, values)
    model = cls(**params)
    if isinstance(model, TiltedSky):
        return model
    carriers = dict(_CARRIER, X0="x_0", Y0="y_0")
    specs = dict(func.params, X0=func.x0, Y0=func.y0)
    if "c0" not in func.params and "c0" in model.param_names:
        model.c0.fixed = True
    for name, spec in specs.items():
        pname = carriers.get(name)
        if pname not in model.param_names or (name == "n" and func.name == "EdgeOnDisk"):
            continue
        param = getattr(model, pname)
        param.fixed = spec.fixed
        if spec.limits is not None and not spec.fixed:
            ends = []
            for end in spec.limits:
                with np.errstate(all="ignore"):  # e.g. ell = 1 makes other params infinite
                    _, trial = _to_params(func, dict(values, **{name: end}))
                ends.append(trial[pname])
            low, high = sorted(ends)
            default_low, default_high = param.bounds
            param.bounds = (low if default_low is None else max(low, default_low),
                            high if default_high is None else min(high, default_high))
    return model


# -- reading -------------------------------------------------------------------------
def _parameter(tokens, path, number):
    try:
        value = float(tokens[1])
    except (IndexError, ValueError):
        raise InputFileError(f"expected 'name value [lo,hi | fixed]', got "
                             f"{' '.join(tokens)!r}", path, number) from None
    rest = "".join(tokens[2:])
    if not rest:
        return ImfitParameter(value, line=number)
    if rest.lower() == "fixed":
        return ImfitParameter(value, fixed=True, line=number)
    try:
        low, high = (float(v) for v in rest.split(","))
    except ValueError:
        raise InputFileError(f"bad limits {rest!r} (expected lo,hi or fixed)", path,
                             number) from None
    if low > high:
        raise InputFileError(f"lower limit {low} above upper limit {high}", path, number)
    if not low <= value <= high:
        raise InputFileError(f"initial value {value} outside its limits {low},{high}", path,
                             number)
    return ImfitParameter(value, (low, high), line=number)


def _check_function(func, path):
    expected = _FUNCTIONS[func.name][1]
    missing = [name for name in expected if name not in func.params]
    if missing:
        raise InputFileError(f"FUNCTION {func.name} lacks parameter(s) {', '.join(missing)}",
                             path, func.line)


def read_imfit_config(path):
    """Read an imfit configuration file.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    ImfitConfig

    Raises
    ------
    galfitax.exceptions.InputFileError
        Missing file, unknown function or parameter, bad limits; the message
        names the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError("imfit config file not found", path)
    config = ImfitConfig(path=path)
    x0 = y0 = None
    group = -1
    func = None
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        tokens = raw.split("#", 1)[0].split()
        if not tokens:
            continue
        key = tokens[0]
        if key.upper() in _OPTIONS and func is None and x0 is None:
            config.options[key.upper()] = _parameter(tokens, path, number).value
        elif key == "X0":
            if func is not None:
                _check_function(func, path)
                func = None
            x0, y0 = _parameter(tokens, path, number), None
            group += 1
        elif key == "Y0":
            if x0 is None or y0 is not None:
                raise InputFileError("Y0 must follow X0", path, number)
            y0 = _parameter(tokens, path, number)
        elif key == "FUNCTION":
            if x0 is None or y0 is None:
                raise InputFileError("FUNCTION before X0 and Y0", path, number)
            if func is not None:
                _check_function(func, path)
            name = tokens[1] if len(tokens) > 1 else ""
            if name not in _FUNCTIONS:
                raise InputFileError(f"unknown or unsupported imfit function {name!r} "
                                     f"(supported: {', '.join(sorted(_FUNCTIONS))})",
                                     path, number)
            label = " ".join(tokens[3:]) if len(tokens) > 3 and tokens[2] == "LABEL" else None
            func = ImfitFunction(name, {}, x0, y0, group, label, number)
            config.functions.append(func)
        elif func is not None:
            if key not in _FUNCTIONS[func.name][1]:
                raise InputFileError(f"FUNCTION {func.name} has no parameter {key!r}", path,
                                     number)
            func.params[key] = _parameter(tokens, path, number)
        else:
            raise InputFileError(f"unrecognised line {raw.strip()!r}", path, number)
    if func is not None:
        _check_function(func, path)
    if not config.functions:
        raise InputFileError("no FUNCTION in the config", path)
    return config


# -- writing -------------------------------------------------------------------------
def _leaf_function(leaf):
    for name, (cls, *_rest) in _FUNCTIONS.items():
        if type(leaf) is cls and not name.endswith("GenEllipse"):
            generic = "c0" in leaf.param_names and (leaf.c0.value != 0 or not leaf.c0.fixed)
            return f"{name}_GenEllipse" if generic and name in ("Sersic", "Exponential") \
                else name
    raise InvalidModelError(f"{type(leaf).__name__} has no imfit equivalent")


_IDENTITY = ("n", "r_e", "h", "r_c", "r_t", "alpha", "gamma", "h1", "h2", "r_break", "r_b",
             "beta", "I_b", "I_sky", "c0", "ell", "m_x", "m_y")


def _spec(leaf, key, value, carrier, back=None, p=None):
    """Parameter line of one imfit quantity: fixed, limits from bounds, or free."""
    param = getattr(leaf, carrier, None)
    if param is None or param.fixed:
        return ImfitParameter(value, fixed=True)
    low, high = param.bounds
    if low is None or high is None:
        return ImfitParameter(value)
    if key in ("X0", "Y0"):
        return ImfitParameter(value, (low + 1.0, high + 1.0))
    if key == "PA":
        return ImfitParameter(value, (float(np.degrees(low)) - 90.0,
                                      float(np.degrees(high)) - 90.0))
    if carrier == "flux" and back is not None:
        ends = sorted(float(back(dict(p, flux=b))) for b in (low, high))
        return ImfitParameter(value, tuple(ends))
    if key in _IDENTITY or (key == "I_0" and carrier == "amplitude"):
        return ImfitParameter(value, (float(low), float(high)))
    return ImfitParameter(value)


def config_from_model(model, **options):
    """An `ImfitConfig` describing a galfitax model (limits from the parameter bounds).

    Components whose centre is tied (by `read_imfit_config`) to an earlier
    component's share its ``X0``/``Y0`` block.
    """
    from galfitax.io.feedme import model_components

    leaves = model_components(model)
    compound = len(leaves) > 1
    functions, group_of = [], {}
    group = -1
    for index, leaf in enumerate(leaves):
        name = _leaf_function(leaf)
        cls, names, _, back = _FUNCTIONS[name]
        p = {n: float(getattr(leaf, n).value) for n in leaf.param_names}
        values = {key: float(f(p)) for key, f in back.items()}
        if "theta" in p:
            values["PA"] = float(np.degrees(p["theta"]) - 90.0)  # unfolded: keeps PA limits
        if "ellip" in p:
            values["ell"] = p["ellip"]
            values["c0"] = p.get("c0", 0.0)

        params = {key: _spec(leaf, key, values[key], _CARRIER[key], back.get(key), p)
                  for key in names}
        if "x_0" in p and not isinstance(leaf, TiltedSky):
            tie = getattr(getattr(model, f"x_0_{index}" if compound else "x_0"), "tied", None)
            reference = getattr(tie, "reference", None)
            if reference is not None and reference in group_of:
                this_group = group_of[reference]
            else:
                group += 1
                this_group = group
            group_of[f"x_0_{index}" if compound else "x_0"] = this_group
            x0 = _spec(leaf, "X0", p["x_0"] + 1.0, "x_0")
            y0 = _spec(leaf, "Y0", p["y_0"] + 1.0, "y_0")
        else:
            group += 1
            this_group = group
            x0 = ImfitParameter(p.get("x_0", 0.0) + 1.0, fixed=True)
            y0 = ImfitParameter(p.get("y_0", 0.0) + 1.0, fixed=True)
        functions.append(ImfitFunction(name, params, x0, y0, this_group))
    opts = {key.upper(): float(value) for key, value in options.items() if value is not None}
    return ImfitConfig(options=opts, functions=functions)


def config_text(config):
    """The text of an imfit config file."""
    out = ["# imfit configuration written by galfitax"]
    for key, value in config.options.items():
        out.append(f"{key:<14s}{value!r}")
    group = None
    for func in config.functions:
        if func.group != group:
            out += ["", func.x0.to_text("X0"), func.y0.to_text("Y0")]
            group = func.group
        label = f"   LABEL {func.label}" if func.label else ""
        out.append(f"FUNCTION {func.name}{label}")
        for name in _FUNCTIONS[func.name][1]:
            out.append(func.params[name].to_text(name))
    return "\n".join(out) + "\n"


def write_imfit_config(config_or_model, path, *, overwrite=False, **options):
    """Write an imfit config file from an `ImfitConfig` or a galfitax model.

    Parameters
    ----------
    config_or_model : ImfitConfig or astropy.modeling.Model
    path : str or path-like
    overwrite : bool
    **options
        ``gain=``, ``readnoise=``, ``original_sky=`` ... written as imfit
        options (models only).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from galfitax import Sersic2D
    >>> from galfitax.io import read_imfit_config, write_imfit_config
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "config.dat"
    >>> _ = write_imfit_config(Sersic2D(flux=1e3, r_eff=4.0, n=2.0, x_0=20.0, y_0=20.0), path,
    ...                        gain=2.0)
    >>> config = read_imfit_config(path)
    >>> config.options["GAIN"], config.functions[0].x0.value
    (2.0, 21.0)
    """
    from galfitax.io.files import atomic_write_text

    config = config_or_model if isinstance(config_or_model, ImfitConfig) else \
        config_from_model(config_or_model, **options)
    if isinstance(config_or_model, ImfitConfig) and options:
        config = replace(config, options={**config.options,
                                          **{k.upper(): v for k, v in options.items()}})
    return atomic_write_text(path, config_text(config), overwrite=overwrite)
