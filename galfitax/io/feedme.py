"""GALFIT input files ("feedme"): reading, writing, and turning them into models.

`read_feedme` parses a GALFIT input file into a `GalfitSetup` (the control
lines A-P, the components with their free/fixed flags, and the constraint
file). `GalfitSetup.build_model` gives the galfitax compound model (0-based
astropy parameters with ``fixed``, ``bounds`` and ``tied`` set, components in
feedme order so outputs keep GALFIT's numbering) and `GalfitSetup.load_inputs`
the arrays to fit. `write_feedme` writes GALFIT's format back (like the
``galfit.01`` file GALFIT writes after a fit).

Anything the file asks for that galfitax does not do (Fourier modes,
bending modes, coordinate rotation, unknown components or directives) raises
`~galfitax.exceptions.InputFileError` naming the file and line: it is never
silently ignored.
"""

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from galfitax.exceptions import InputFileError, InvalidModelError
from galfitax.io.conventions import (
    COMPONENTS,
    Photometry,
    galfit_to_model,
    model_to_galfit,
)

__all__ = ["GalfitComponent", "GalfitConstraint", "GalfitSetup", "read_feedme", "write_feedme"]

# Control lines: letter -> (attribute, comment written back).
_CONTROL = {
    "A": ("data", "Input data image (FITS file)"),
    "B": ("output", "Output data image block"),
    "C": ("sigma", 'Sigma image name (made from data if blank or "none")'),
    "D": ("psf", "Input PSF image and (optional) diffusion kernel"),
    "E": ("psf_sampling", "PSF fine sampling factor relative to data"),
    "F": ("mask", "Bad pixel mask (FITS image or ASCII coord list)"),
    "G": ("constraints_file", "File with parameter constraints (ASCII file)"),
    "H": ("region", "Image region to fit (xmin xmax ymin ymax)"),
    "I": ("conv_box", "Size of the convolution box (x y)"),
    "J": ("zeropoint", "Magnitude photometric zeropoint"),
    "K": ("plate_scale", "Plate scale (dx dy)   [arcsec per pixel]"),
    "O": ("display", "Display type (regular, curses, both)"),
    "P": ("option", "Options: 0=normal run; 1,2=make model/imgblock & quit; 3=subcomps"),
}

# Constraint-file parameter names -> GALFIT quantity keys (per component, see _constraint_key).
_CONSTRAINT_ALIASES = {"c": "c0", "c0": "c0", "ar": "q", "pa": "pa", "q": "q", "x": "x", "y": "y",
                       "n": "n", "alpha": "alpha", "beta": "beta", "gamma": "gamma",
                       "fwhm": "fwhm", "sky": "sky", "powerlaw": "powerlaw", "plaw": "powerlaw",
                       "hs": "hs", "rb": "rb", "rc": "rc", "rt": "rt", "rout": "rout"}
_SIZE_KEYS = ("re", "rs", "rb", "rc", "rout", "fwhm")


@dataclass
class GalfitComponent:
    """One component of a feedme file, in GALFIT's own conventions.

    Attributes
    ----------
    name : str
        GALFIT component name (``sersic``, ``expdisk``, ``sky`` ...).
    values : dict
        Every GALFIT quantity of the component by key (``x, y, mag, re, n, q,
        pa, c0`` ...; see `galfitax.io.conventions.COMPONENTS`).
    free : dict
        Whether each quantity is fitted (GALFIT's 1/0 flags).
    skip : bool
        GALFIT ``Z) 1``: leave this component out of the residual image.
    line : int or None
        Line of the ``0)`` entry in the file it came from.
    """

    name: str
    values: dict
    free: dict
    skip: bool = False
    line: int = field(default=None, compare=False)

    @property
    def spec(self):
        """The `~galfitax.io.conventions.ComponentSpec` of this component."""
        return COMPONENTS[self.name]


@dataclass(frozen=True)
class GalfitConstraint:
    """One line of a GALFIT constraint file.

    Attributes
    ----------
    kind : str
        ``"range"`` (``1 n 0.5 to 6``: absolute limits), ``"relative"``
        (``1 x -1 1``: limits relative to the initial value), ``"offset"``
        (``1_2 x offset``: keep the initial difference) or ``"ratio"``
        (``1_2 re ratio``: keep the initial ratio).
    components : tuple of int
        1-based component numbers.
    parameter : str
        The parameter as written in the file (``x``, ``re``, ``mag``, ``5`` ...).
    low, high : float or None
        Limits of ``range`` and ``relative`` constraints.
    line : int or None
        Line number in the constraint file.
    """

    kind: str
    components: tuple
    parameter: str
    low: float = None
    high: float = None
    line: int = field(default=None, compare=False)

    def to_line(self):
        """The constraint as a line of a GALFIT constraint file."""
        comps = "_".join(str(c) for c in self.components)
        if self.kind in ("offset", "ratio"):
            return f"{comps:<12s} {self.parameter:<8s} {self.kind}"
        if self.kind == "range":
            return f"{comps:<12s} {self.parameter:<8s} {self.low!r} to {self.high!r}"
        return f"{comps:<12s} {self.parameter:<8s} {self.low!r} {self.high!r}"


@dataclass
class GalfitSetup:
    """Everything a GALFIT input file says, in GALFIT's conventions.

    File names are kept as written; `resolve` turns them into paths relative
    to the feedme's folder (what GALFIT does when run from there). ``region``
    is GALFIT's ``H)`` (1-based, inclusive ``xmin xmax ymin ymax``).

    Examples
    --------
    >>> from galfitax.io import GalfitComponent, GalfitSetup
    >>> setup = GalfitSetup(data="gal.fits", zeropoint=25.0, components=[GalfitComponent(
    ...     "sersic", dict(x=20.0, y=21.0, mag=18.0, re=4.0, n=2.0, q=0.6, pa=30.0, c0=0.0),
    ...     dict(x=True, y=True, mag=True, re=True, n=True, q=True, pa=True, c0=False))])
    >>> model = setup.build_model()
    >>> float(model.x_0.value), round(float(model.flux.value), 3), model.fixed["c0"]
    (19.0, 630.957, True)
    """

    data: str
    output: str = "imgblock.fits"
    sigma: str = None
    psf: str = None
    psf_sampling: int = 1
    mask: str = None
    constraints_file: str = None
    region: tuple = None
    conv_box: tuple = None
    zeropoint: float = 0.0
    plate_scale: tuple = (1.0, 1.0)
    display: str = "regular"
    option: int = 0
    components: list = field(default_factory=list)
    constraints: list = field(default_factory=list)
    folder: Path = field(default=Path("."), compare=False)
    path: Path = field(default=None, compare=False)
    lines: dict = field(default_factory=dict, compare=False, repr=False)

    # -- paths -----------------------------------------------------------------
    def resolve(self, name):
        """Path of a file named in the feedme, relative to the feedme's folder (None stays)."""
        if name is None:
            return None
        path = Path(os.path.expanduser(name))
        return path if path.is_absolute() else Path(self.folder) / path

    def with_absolute_paths(self):
        """A copy whose file names are absolute (to compare setups read from other folders)."""
        names = {attr: (None if getattr(self, attr) is None else
                        str(self.resolve(getattr(self, attr)).resolve()))
                 for attr in ("data", "output", "sigma", "psf", "mask", "constraints_file")}
        return replace(self, **names)

    def error(self, message, letter=None):
        """An `InputFileError` pointing at this feedme (and the line of ``letter``)."""
        return InputFileError(message, self.path, self.lines.get(letter))

    # -- photometry ------------------------------------------------------------
    def photometry(self, exptime=1.0):
        """`~galfitax.io.conventions.Photometry` of this setup."""
        return Photometry(float(self.zeropoint), tuple(self.plate_scale), float(exptime))

    def sky_reference(self, shape=None):
        """0-based centre of the fitting region (GALFIT's sky reference point)."""
        if self.region is not None:
            x1, x2, y1, y2 = self.region
            return ((x1 + x2) / 2.0 - 1.0, (y1 + y2) / 2.0 - 1.0)
        if shape is not None:
            return ((shape[1] - 1) / 2.0, (shape[0] - 1) / 2.0)
        return (0.0, 0.0)

    # -- model ------------------------------------------------------------------
    def build_model(self, exptime=1.0, shape=None):
        """The galfitax model of the components (0-based, astropy conventions).

        Parameters
        ----------
        exptime : float
            Exposure time (GALFIT reads EXPTIME from the data header;
            `load_inputs` returns it).
        shape : tuple, optional
            Image shape, for the sky reference point when there is no ``H)``.

        Returns
        -------
        astropy.modeling.Model
            One component, or their sum in feedme order (component ``k`` of
            the feedme is submodel ``k - 1``), with ``fixed`` from the 0/1
            flags and ``bounds``/``tied`` from the constraint file.
        """
        if not self.components:
            raise self.error("the feedme has no components")
        photometry = self.photometry(exptime)
        reference = self.sky_reference(shape)
        parts = []
        for comp in self.components:
            tilted = comp.name == "sky" and (comp.free.get("dsdx") or comp.free.get("dsdy"))
            cls, params = galfit_to_model(comp.name, comp.values, photometry,
                                          sky_reference=reference, tilted=bool(tilted))
            model = cls(**params)
            for key, free in comp.free.items():
                for pname in _model_params(model, comp.name, key):
                    getattr(model, pname).fixed = not free
            parts.append(model)
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        for constraint in self.constraints:
            _apply_constraint(self, total, parts, constraint, photometry, reference)
        return total

    def with_model(self, model, exptime=1.0):
        """A copy of this setup with the component values taken from a (fitted) model.

        The model must have the structure `build_model` gives (same
        components in the same order); wrappers with a ``model`` attribute
        (PSF convolution) are unwrapped.
        """
        leaves = model_components(model)
        if len(leaves) != len(self.components):
            raise self.error(f"the model has {len(leaves)} components, "
                             f"the feedme {len(self.components)}")
        photometry = self.photometry(exptime)
        components = []
        for comp, leaf in zip(self.components, leaves):
            name, values = model_to_galfit(leaf, photometry)
            if name != comp.name and not {name, comp.name} <= {"sersic", "devauc"}:
                raise self.error(f"component {comp.name!r} became {name!r}")
            components.append(replace(comp, values={**comp.values, **values}))
        return replace(self, components=components)

    @classmethod
    def from_model(cls, model, data, *, zeropoint=0.0, exptime=1.0, **kwargs):
        """A setup describing a galfitax model (fixed flags kept; bounds/ties not).

        Examples
        --------
        >>> from galfitax import Exponential2D, FlatSky
        >>> from galfitax.io import GalfitSetup
        >>> setup = GalfitSetup.from_model(Exponential2D(flux=100.0, r_s=3.0) + FlatSky(1.0),
        ...                                "gal.fits", zeropoint=25.0)
        >>> [c.name for c in setup.components], round(setup.components[0].values["mag"], 3)
        (['expdisk', 'sky'], 20.0)
        """
        photometry = Photometry(float(zeropoint), tuple(kwargs.get("plate_scale", (1.0, 1.0))),
                                float(exptime))
        components = []
        for leaf in model_components(model):
            name, values = model_to_galfit(leaf, photometry)
            free = {key: not any(leaf.fixed[p] for p in _model_params(leaf, name, key))
                    for key in values}
            components.append(GalfitComponent(name, values, free))
        return cls(data=str(data), zeropoint=float(zeropoint), components=components, **kwargs)

    def load_inputs(self):
        """Read and check the images: see `galfitax.io.load_fit_inputs`."""
        from galfitax.io.images import load_fit_inputs

        return load_fit_inputs(self)


def model_components(model):
    """The leaf components of a (sum of, or wrapped) model, in order.

    Wrappers that hold the model to render in a ``model`` attribute (PSF
    convolution) are unwrapped; compounds must be sums.
    """
    from astropy.modeling import CompoundModel

    inner = model
    while not isinstance(inner, CompoundModel) and hasattr(getattr(inner, "model", None),
                                                           "param_names"):
        inner = inner.model
    if not isinstance(inner, CompoundModel):
        return [inner]
    stack = [inner]
    while stack:
        node = stack.pop()
        if isinstance(node, CompoundModel):
            if node.op != "+":
                raise InvalidModelError(f"only sums of components map onto GALFIT components, "
                                        f"got operator {node.op!r}")
            stack += [node.left, node.right]
    return [inner[index] for index in range(inner.n_submodels)]


def _start_component(tokens, path, number):
    """A new `GalfitComponent` from the tokens of a ``0)`` line; unknown types are an error."""
    name = tokens[0].lower() if tokens else ""
    if name not in COMPONENTS:
        raise InputFileError(f"unknown or unsupported component {name!r} (known: "
                             f"{', '.join(sorted(COMPONENTS))})", path, number)
    return GalfitComponent(name, {}, {}, line=number)


def _model_params(model, name, key):
    """galfitax parameter names carrying GALFIT quantity ``key`` of a component."""
    direct = {"x": "x_0", "y": "y_0", "q": "ellip", "pa": "theta", "c0": "c0", "mag": "flux",
              "sky": "amplitude", "dsdx": "slope_x", "dsdy": "slope_y"}
    from galfitax.io.conventions import _SHAPE_PARAMS

    if key == "mu":
        pname = "amplitude" if "amplitude" in model.param_names else "flux"
    else:
        pname = direct.get(key) or _SHAPE_PARAMS[name].get(key)
    return [pname] if pname in model.param_names else []


def _constraint_key(setup, comp, parameter, line):
    spec = comp.spec
    word = parameter.lower()
    if word.isdigit():
        label = "1" if word == "2" and comp.name != "sky" else word
        keys = spec.slot_of(label)
        if keys is None:
            raise InputFileError(f"component {comp.name!r} has no parameter {parameter!r}",
                                 setup.resolve(setup.constraints_file), line)
        return keys[1] if word == "2" and comp.name != "sky" else keys[0]
    if word in ("re", "rs", "r"):
        for key in _SIZE_KEYS:
            if key in spec.keys:
                return key
    if word == "mag":
        return "mag" if "mag" in spec.keys else "mu" if "mu" in spec.keys else "sky"
    if word in ("mu", "mu0"):
        word = "mu"
    key = _CONSTRAINT_ALIASES.get(word, word)
    if key not in spec.keys:
        raise InputFileError(
            f"constraint on {parameter!r} is not supported for component {comp.name!r} "
            f"(Fourier, bending and rotation parameters are not implemented)",
            setup.resolve(setup.constraints_file), line)
    return key


def _apply_constraint(setup, total, parts, constraint, photometry, reference):
    cfile = setup.resolve(setup.constraints_file)
    for number in constraint.components:
        if not 1 <= number <= len(parts):
            raise InputFileError(f"constraint refers to component {number}, the feedme has "
                                 f"{len(parts)}", cfile, constraint.line)
    compound = len(parts) > 1

    def full(index, pname):
        return f"{pname}_{index}" if compound else pname

    first = constraint.components[0] - 1
    comp = setup.components[first]
    key = _constraint_key(setup, comp, constraint.parameter, constraint.line)
    pnames = _model_params(parts[first], comp.name, key)
    if constraint.kind in ("range", "relative"):
        lows_highs = []
        for value in (constraint.low, constraint.high):
            if constraint.kind == "relative":
                value = comp.values[key] + value
            trial = dict(comp.values, **{key: value})
            tilted = "slope_x" in parts[first].param_names
            _, params = galfit_to_model(comp.name, trial, photometry, sky_reference=reference,
                                        tilted=tilted)
            lows_highs.append(params[pnames[0]])
        low, high = sorted(lows_highs)
        default_low, default_high = getattr(parts[first], pnames[0]).bounds
        if default_low is not None:
            low = max(low, default_low)
        if default_high is not None:
            high = min(high, default_high)
        getattr(total, full(first, pnames[0])).bounds = (low, high)
        return
    multiplicative = key in ("mag", "mu")
    if constraint.kind == "ratio":
        if key in ("mag", "mu", "pa", "x", "y", "sky", "dsdx", "dsdy"):
            raise InputFileError(f"a ratio constraint on {constraint.parameter!r} is not "
                                 f"supported", cfile, constraint.line)
        multiplicative = key != "q"
    ref_name = full(first, pnames[0])
    ref_value = getattr(total, ref_name).value
    for number in constraint.components[1:]:
        index = number - 1
        other = setup.components[index]
        other_key = _constraint_key(setup, other, constraint.parameter, constraint.line)
        for pname in _model_params(parts[index], other.name, other_key):
            value = getattr(total, full(index, pname)).value
            if key == "q" and constraint.kind == "ratio":
                factor = (1.0 - value) / (1.0 - ref_value)
                tie = _tie_q_ratio(ref_name, factor)
            elif multiplicative:
                tie = _tie_scaled(ref_name, value / ref_value)
            else:
                tie = _tie_offset(ref_name, value - ref_value)
            getattr(total, full(index, pname)).tied = tie


def _tie_offset(ref_name, delta):
    def tied(model):
        return getattr(model, ref_name).value + delta
    return tied


def _tie_scaled(ref_name, factor):
    def tied(model):
        return getattr(model, ref_name).value * factor
    return tied


def _tie_q_ratio(ref_name, factor):
    def tied(model):
        return 1.0 - (1.0 - getattr(model, ref_name).value) * factor
    return tied


# -- reading -------------------------------------------------------------------------
def _split(line):
    """``(label, tokens)`` of a feedme line, or None for blank/comment lines."""
    text = line.split("#", 1)[0].strip()
    if not text:
        return None
    if ")" not in text:
        return None if set(text) <= {"=", "-"} else ("", text.split())
    label, rest = text.split(")", 1)
    return label.strip(), rest.split()


def _number(tokens, index, path, line, kind=float):
    try:
        return kind(tokens[index])
    except (IndexError, ValueError):
        raise InputFileError(f"expected a number in {' '.join(tokens)!r}", path, line) from None


def _flag(token, path, line):
    if token not in ("0", "1"):
        raise InputFileError(f"free/fixed flag must be 0 or 1, got {token!r}", path, line)
    return token == "1"


def _file_value(tokens, letter, path, line):
    if len(tokens) > 1 and letter in "ACDF":
        # GALFITM per-band lists and diffusion kernels arrive here
        raise InputFileError(f"{letter}) takes one file name, got {' '.join(tokens)!r} "
                             f"(diffusion kernels and extra options are not supported)",
                             path, line)
    if not tokens or tokens[0].lower() == "none":
        return None
    if "," in tokens[0]:
        raise InputFileError(f"comma-separated (GALFITM multiband) lists are not supported "
                             f"yet: {tokens[0]!r}", path, line)
    return tokens[0]


def _parse_control(setup, letter, tokens, path, line):
    attr = _CONTROL[letter][0]
    setup.lines[letter] = line
    if letter in "ABCDFG":
        value = _file_value(tokens, letter, path, line)
        if letter == "A" and value is None:
            raise InputFileError("A) needs the input data image", path, line)
        if letter == "B" and value is None:
            value = "imgblock.fits"
        setattr(setup, attr, value)
    elif letter in "EP":
        setattr(setup, attr, _number(tokens, 0, path, line, int))
        if letter == "P" and setup.option not in (0, 1, 2, 3):
            raise InputFileError(f"P) must be 0, 1, 2 or 3, got {setup.option}", path, line)
        if letter == "E" and setup.psf_sampling < 1:
            raise InputFileError(f"E) must be a positive integer, got {setup.psf_sampling}",
                                 path, line)
    elif letter == "H":
        region = tuple(_number(tokens, i, path, line, int) for i in range(4))
        x1, x2, y1, y2 = region
        if x1 < 1 or y1 < 1 or x2 < x1 or y2 < y1:
            raise InputFileError(f"H) region {region} is empty or starts before pixel 1",
                                 path, line)
        setup.region = region
    elif letter == "I":
        nx = _number(tokens, 0, path, line, int)
        setup.conv_box = (nx, _number(tokens, 1, path, line, int) if len(tokens) > 1 else nx)
    elif letter == "J":
        setup.zeropoint = _number(tokens, 0, path, line)
    elif letter == "K":
        dx = _number(tokens, 0, path, line)
        setup.plate_scale = (dx, _number(tokens, 1, path, line) if len(tokens) > 1 else dx)
    elif letter == "O":
        setup.display = tokens[0] if tokens else "regular"


def _parse_component_line(comp, label, tokens, path, line):
    if label == "Z":
        comp.skip = _flag(tokens[0] if tokens else "", path, line)
        return
    keys = comp.spec.slot_of(label)
    if keys is None and label.isdigit() and 1 <= int(label) <= 10 and \
            all(t in ("0", "0.0", "0.0000", "0.") or _is_zero(t) for t in tokens[:2]):
        return  # GALFIT pads its own output files with unused "6) 0.0000 0" lines
    if keys is None:
        what = {"F": "Fourier modes", "B": "bending modes", "R": "coordinate rotation"}.get(
            label[:1], "this parameter")
        raise InputFileError(f"{label}) is not supported for {comp.name!r} ({what} are not "
                             f"implemented)", path, line)
    n = len(keys)
    values = [_number(tokens, i, path, line) for i in range(n)]
    flags = tokens[n:2 * n]
    if len(flags) < n:
        raise InputFileError(f"{label}) needs {n} value(s) and {n} free/fixed flag(s), got "
                             f"{' '.join(tokens)!r}", path, line)
    for key, value, flag in zip(keys, values, flags):
        comp.values[key] = value
        comp.free[key] = _flag(flag, path, line)


def _is_zero(token):
    try:
        return float(token) == 0.0
    except ValueError:
        return False


def _finish_component(comp, path):
    optional = {"c0": 0.0, "dsdx": 0.0, "dsdy": 0.0}
    for key in comp.spec.keys:
        if key not in comp.values:
            if key in optional:
                comp.values[key] = optional[key]
                comp.free[key] = False
                continue
            label = next(lab for lab, keys, _ in comp.spec.slots if key in keys)
            raise InputFileError(f"component {comp.name!r} starting here lacks line {label}) "
                                 f"({key})", path, comp.line)


def read_constraints(path, setup=None):
    """Parse a GALFIT constraint file into a list of `GalfitConstraint`.

    Soft couplings between components (``3-7 mag -0.5 3``, ``3/5 re 1 3``)
    and Fourier/bending parameters raise `InputFileError`.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError("constraint file not found", path)
    constraints = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        tokens = raw.split("#", 1)[0].split()
        if not tokens:
            continue
        if len(tokens) < 3:
            raise InputFileError(f"cannot read constraint {raw.strip()!r}", path, number)
        comps, parameter, rest = tokens[0], tokens[1], tokens[2:]
        if "-" in comps or "/" in comps:
            raise InputFileError(f"soft coupling constraints ({comps!r}) are not supported",
                                 path, number)
        try:
            components = tuple(int(c) for c in comps.split("_"))
        except ValueError:
            raise InputFileError(f"bad component list {comps!r}", path, number) from None
        if rest[0].lower() in ("offset", "ratio") and len(rest) == 1 and len(components) < 2:
            raise InputFileError(f"{rest[0]} needs two or more components (e.g. 1_2)", path,
                                 number)
        try:
            if rest[0].lower() in ("offset", "ratio") and len(rest) == 1:
                constraints.append(GalfitConstraint(rest[0].lower(), components, parameter,
                                                    line=number))
            elif len(rest) == 3 and rest[1].lower() == "to":
                constraints.append(GalfitConstraint("range", components, parameter,
                                                    float(rest[0]), float(rest[2]), number))
            elif len(rest) == 2:
                constraints.append(GalfitConstraint("relative", components, parameter,
                                                    float(rest[0]), float(rest[1]), number))
            else:
                raise ValueError
        except ValueError:
            raise InputFileError(f"cannot read constraint {raw.strip()!r}", path,
                                 number) from None
        if len(components) > 1 and constraints[-1].kind in ("range", "relative"):
            raise InputFileError("a range constraint applies to one component", path, number)
    if setup is not None:
        for constraint in constraints:
            for c in constraint.components:
                if not 1 <= c <= len(setup.components):
                    raise InputFileError(f"component {c} does not exist (the feedme has "
                                         f"{len(setup.components)})", path, constraint.line)
                _constraint_key(setup, setup.components[c - 1], constraint.parameter,
                                constraint.line)
    return constraints


def read_feedme(path):
    """Read a GALFIT input file.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    GalfitSetup
        File names stay as written; they resolve relative to the feedme's
        folder (`GalfitSetup.resolve`).

    Raises
    ------
    galfitax.exceptions.InputFileError
        Missing file, unreadable line, unknown component, or a directive
        galfitax does not implement; the message names the file and line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from galfitax.io import read_feedme
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "galfit.feedme").write_text('''
    ... A) gal.fits
    ... B) out.fits
    ... H) 1 64 1 64
    ... J) 26.0
    ... 0) expdisk
    ... 1) 32.0 33.0 1 1
    ... 3) 18.5 1
    ... 4) 6.0 1
    ... 9) 0.4 1
    ... 10) 45.0 1
    ... ''')
    >>> setup = read_feedme(folder / "galfit.feedme")
    >>> setup.components[0].values["rs"], setup.resolve(setup.data) == folder / "gal.fits"
    (6.0, True)
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError("feedme file not found", path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read the file ({exc})", path) from None
    setup = GalfitSetup(data=None, folder=path.parent, path=path)
    comp = None
    for number, raw in enumerate(text.splitlines(), start=1):
        parsed = _split(raw)
        if parsed is None:
            continue
        label, tokens = parsed
        if label in _CONTROL:
            _parse_control(setup, label, tokens, path, number)
        elif label == "0":
            if comp is not None:
                _finish_component(comp, path)
            comp = _start_component(tokens, path, number)
            setup.components.append(comp)
        elif comp is not None and (label in ("Z", "C0") or label.isdigit()
                                   or label[:1] in "FBR"):
            _parse_component_line(comp, label, tokens, path, number)
        else:
            raise InputFileError(f"unrecognised line {raw.strip()!r}", path, number)
    if comp is not None:
        _finish_component(comp, path)
    if setup.data is None:
        raise InputFileError("no A) input data image", path)
    if not setup.components:
        raise InputFileError("no components (0) lines)", path)
    if setup.constraints_file is not None:
        setup.constraints = read_constraints(setup.resolve(setup.constraints_file), setup)
    return setup


# -- writing -------------------------------------------------------------------------
def _format(value):
    """GALFIT's 4 decimals when they are exact, else every digit (round trips are exact)."""
    text = f"{value:.4f}"
    return text if float(text) == value else repr(float(value))


def _relative(setup, name, folder):
    if name is None:
        return "none"
    target = setup.resolve(name)
    if Path(folder).resolve() == Path(setup.folder).resolve() or Path(name).is_absolute():
        return str(name)
    return os.path.relpath(target, folder)


def feedme_text(setup, folder=None):
    """The GALFIT input file of a setup, as a string (file names relative to ``folder``)."""
    folder = setup.folder if folder is None else folder
    out = ["", "=" * 80, "# IMAGE and GALFIT CONTROL PARAMETERS"]
    for letter, (attr, comment) in _CONTROL.items():
        value = getattr(setup, attr)
        if letter in "ABCDFG":
            text = _relative(setup, value, folder)
        elif letter in "HIK":
            if value is None:
                continue
            text = " ".join(str(v) for v in value)
        else:
            text = str(value)
        out.append(f"{letter}) {text:<30s} # {comment}")
    out += ["", "# INITIAL FITTING PARAMETERS", "#",
            "#   par)    par value(s)    fit toggle(s)    # parameter description", "#"]
    for number, comp in enumerate(setup.components, start=1):
        out += [f"# Component number: {number}", f" 0) {comp.name:<24s} #  Component type"]
        for label, keys, comment in comp.spec.slots:
            if label == "C0" and comp.values.get("c0", 0.0) == 0.0 and not comp.free.get("c0"):
                continue
            values = " ".join(_format(comp.values[k]) for k in keys)
            flags = " ".join("1" if comp.free[k] else "0" for k in keys)
            out.append(f"{label + ')':>3s} {values:<22s} {flags:<6s} #  {comment}")
        out += [f" Z) {int(comp.skip):<29d} #  Skip this model in output image?  (yes=1, no=0)",
                ""]
    out.append("=" * 80)
    return "\n".join(out) + "\n"


def write_feedme(setup_or_model, path, *, overwrite=False, **kwargs):
    """Write a GALFIT input file (like ``galfit.01``).

    Parameters
    ----------
    setup_or_model : GalfitSetup or astropy.modeling.Model
        A setup, or a galfitax model (then ``kwargs`` go to
        `GalfitSetup.from_model`, e.g. ``data=``, ``zeropoint=``).
    path : str or path-like
        File names inside are written relative to this file's folder.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The file written. If the setup has constraints but no constraint
        file, they go to ``<path>.constraints`` (named in ``G)``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from galfitax import Sersic2D
    >>> from galfitax.io import read_feedme, write_feedme
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "galfit.01"
    >>> _ = write_feedme(Sersic2D(flux=100.0, r_eff=3.0, n=1.5, x_0=10.0, y_0=12.0), path,
    ...                  data="gal.fits", zeropoint=25.0)
    >>> read_feedme(path).components[0].values["x"]
    11.0
    """
    from galfitax.io.files import atomic_write_text

    setup = setup_or_model if isinstance(setup_or_model, GalfitSetup) else \
        GalfitSetup.from_model(setup_or_model, **kwargs)
    path = Path(path)
    folder = path.parent
    if setup.constraints and setup.constraints_file is None:
        cpath = path.with_name(path.name + ".constraints")
        lines = ["# Component/  parameter  constraint  (written by galfitax)"]
        lines += [c.to_line() for c in setup.constraints]
        atomic_write_text(cpath, "\n".join(lines) + "\n", overwrite=overwrite)
        setup = replace(setup, constraints_file=cpath.name, folder=folder)
    return atomic_write_text(path, feedme_text(setup, folder), overwrite=overwrite)
