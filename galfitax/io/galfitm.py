"""GALFITM (MegaMorph) multiband input files and GALFITM-layout outputs.

A GALFITM feedme is a GALFIT feedme whose image lines hold comma-separated
per-band lists (no spaces): ``A)`` data images, ``A1)`` band labels, ``A2)``
wavelengths, ``C)`` sigma images (or one ``none``), ``D)`` PSFs, ``E)`` PSF
sampling, ``F)`` masks, ``J)`` zeropoints (one value or one per band). Each
parameter line gives per-band starting values (or one value for all bands),
the number of free Chebyshev coefficients and the word ``band``::

     1) 64.5            1  band   # x (GALFITM puts x on 1) and y on 2))
     2) 65.0            1  band
     3) 18.0,17.0,16.5  3  band   # magnitude free in every band
     4) 8.0             2  band   # R_e linear in wavelength

`read_galfitm` parses such a file (reusing the GALFIT component definitions
and conventions of :mod:`galfitax.io.feedme` and
:mod:`galfitax.io.conventions`); `GalfitmSetup.build_model` gives the
`~galfitax.multiband.MultiBandModel` and `GalfitmSetup.load_bands` the
`~galfitax.multiband.Band` objects. Bands are put in order of increasing
wavelength. Freedoms of magnitudes and surface brightnesses apply to the
fluxes (identical for 0, 1 or all bands; for polynomials the polynomial is
in flux rather than in magnitude).

`write_galfitm` writes GALFITM's output layout: one FITS file with
``INPUT_<band>``, ``MODEL_<band>`` and ``RESIDUAL_<band>`` image extensions
(``MODEL_<band>`` headers carry that band's values and errors in GALFIT's
single-band keywords ``1_XC``, ``1_MAG``, ``1_RE``, ... and ``CHI2NU``), a
``FINAL_BAND`` table (one row per band, ``COMP<i>_<KEY>`` and
``COMP<i>_<KEY>_ERR`` columns), a ``FINAL_CHEB`` table (the coefficients and
their errors) and a ``FIT_INFO`` table; `galfitm_results_table` gives the
ECSV table with one row per component and band.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table, vstack

from galfitax.exceptions import ConfigurationError, InputFileError
from galfitax.io.conventions import COMPONENTS, Photometry, galfit_to_model
from galfitax.io.feedme import GalfitSetup, _model_params, _split, _start_component
from galfitax.io.files import atomic_write, check_output_path

__all__ = ["GalfitmRun", "GalfitmSetup", "fit_galfitm", "galfitm_results_table", "is_galfitm_feedme",
           "read_galfitm", "write_galfitm"]

_PER_BAND_FILES = {"A": "data", "C": "sigma", "D": "psf", "F": "mask"}
_SUPPORTED = set("ABCDEFGHIJKOP") | {"A1", "A2"}


@dataclass
class GalfitmSetup:
    """A GALFITM multiband input file, in GALFIT's conventions.

    Attributes
    ----------
    labels : list of str
        Band labels (``A1)``), in order of increasing wavelength.
    wavelengths : numpy.ndarray
        ``A2)`` wavelengths, increasing.
    bands : list of `~galfitax.io.GalfitSetup`
        One single-band setup per band (its file names, zeropoint, region
        and PSF sampling), used to read the images.
    components : list of str
        GALFIT component names.
    values : list of dict
        Per component: GALFIT quantity -> per-band starting values.
    freedom : list of dict
        Per component: GALFIT quantity -> number of free Chebyshev
        coefficients.
    skip : list of bool
        GALFIT ``Z)`` per component.
    output : str
        ``B)`` output file.
    """

    labels: list
    wavelengths: np.ndarray
    bands: list
    components: list = field(default_factory=list)
    values: list = field(default_factory=list)
    freedom: list = field(default_factory=list)
    skip: list = field(default_factory=list)
    output: str = "imgblock.fits"
    option: int = 0
    path: Path = None
    folder: Path = Path(".")

    @property
    def n_bands(self):
        """Number of bands."""
        return len(self.labels)

    def resolve(self, name):
        """Path of a file named in the feedme (relative to its folder)."""
        return self.bands[0].resolve(name)

    def load_bands(self):
        """The `~galfitax.multiband.Band` of every band, read from the files named.

        PSF images are used as GALFIT uses them (``pixel_response="galfit"``);
        sigma images missing are made from the data as GALFIT does.
        """
        from galfitax.io.images import load_fit_inputs
        from galfitax.multiband import Band

        bands = []
        for label, wavelength, setup in zip(self.labels, self.wavelengths, self.bands):
            inputs = load_fit_inputs(setup)
            psf_options = {}
            if inputs.psf is not None:
                psf_options = dict(psf=inputs.psf, psf_oversampling=inputs.psf_sampling,
                                   pixel_response="galfit")
            band = Band(inputs.data, float(wavelength), sigma=inputs.sigma, mask=inputs.mask,
                        zeropoint=setup.zeropoint, name=label,
                        origin=(float(inputs.x[0, 0]), float(inputs.y[0, 0])), **psf_options)
            band.header = inputs.header
            band.exptime = inputs.exptime
            bands.append(band)
        return bands

    def photometry(self, band, exptime=1.0):
        """`~galfitax.io.conventions.Photometry` of band ``band`` (index)."""
        return self.bands[band].photometry(exptime)

    def build_model(self, exptimes=None, shape=None):
        """The `~galfitax.multiband.MultiBandModel` the file describes.

        Parameters
        ----------
        exptimes : sequence of float, optional
            Exposure time of each band (GALFIT magnitudes are of flux /
            EXPTIME); default 1.
        shape : tuple, optional
            Image shape (sky reference point when there is no ``H)``).
        """
        from galfitax.multiband import MultiBandModel

        exptimes = [1.0] * self.n_bands if exptimes is None else list(exptimes)
        reference = self.bands[0].sky_reference(shape)
        per_band = []
        for b in range(self.n_bands):
            photometry = self.photometry(b, exptimes[b])
            models = []
            for name, values, freedom in zip(self.components, self.values, self.freedom):
                tilted = name == "sky" and (freedom.get("dsdx") or freedom.get("dsdy"))
                band_values = {key: vals[b] for key, vals in values.items()}
                cls, params = galfit_to_model(name, band_values, photometry,
                                              sky_reference=reference, tilted=bool(tilted))
                models.append(cls(**params))
            per_band.append(models)
        parts = per_band[0]
        template = parts[0]
        for part in parts[1:]:
            template = template + part
        compound = len(parts) > 1
        values, freedoms = {}, {}
        for index, (name, freedom) in enumerate(zip(self.components, self.freedom)):
            for pname in parts[index].param_names:
                full = f"{pname}_{index}" if compound else pname
                values[full] = [float(getattr(models[index], pname).value)
                                for models in per_band]
            keyed = {pname: freedom[key] for key in freedom
                     for pname in _model_params(parts[index], name, key)}
            for pname in parts[index].param_names:
                full = f"{pname}_{index}" if compound else pname
                k = keyed.get(pname, 0)
                if k == 0:
                    getattr(template, full).fixed = True
                else:
                    freedoms[full] = k
        return MultiBandModel(template, self.wavelengths, band_names=self.labels,
                              freedom=freedoms, values=values)


def is_galfitm_feedme(path):
    """Whether a feedme file is in GALFITM multiband format (CSL ``A)`` or ``A1)``/``A2)``)."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError):
        return False
    for raw in text.splitlines():
        parsed = _split(raw)
        if parsed is None:
            continue
        label, tokens = parsed
        if label in ("A1", "A2") or (label == "A" and tokens and "," in tokens[0]):
            return True
    return False


def _csl(tokens, letter, path, line, n_bands=None):
    if not tokens:
        raise InputFileError(f"{letter}) is empty", path, line)
    if len(tokens) > 1:
        raise InputFileError(f"{letter}) takes one comma-separated list without spaces, got "
                             f"{' '.join(tokens)!r} (extra options such as diffusion kernels "
                             "or minimum sigma are not supported)", path, line)
    items = tokens[0].split(",")
    if n_bands is not None and len(items) not in (1, n_bands):
        raise InputFileError(f"{letter}) lists {len(items)} entries for {n_bands} bands",
                             path, line)
    if n_bands is not None and len(items) == 1:
        items = items * n_bands
    return items


def _numbers(items, letter, path, line, kind=float):
    try:
        return [kind(item) for item in items]
    except ValueError:
        raise InputFileError(f"{letter}) expects numbers, got {','.join(items)!r}", path,
                             line) from None


def _component_keys(name, label, path, line):
    """GALFIT quantity on a GALFITM parameter line (x on ``1)``, y on ``2)``)."""
    spec = COMPONENTS[name]
    keys = spec.slot_of(label)
    if name != "sky" and spec.slot_of("1") == ("x", "y"):
        if label == "1":
            return "x"
        if label == "2":
            return "y"
    if keys is None or len(keys) != 1:
        raise InputFileError(f"{label}) is not a supported parameter of {name!r} (Fourier, "
                             "bending and rotation modes are not implemented)", path, line)
    return keys[0]


def _parameter_line(tokens, n_bands, path, line):
    if len(tokens) not in (2, 3) or (len(tokens) == 3 and tokens[2].lower() != "band"):
        if len(tokens) == 3 and tokens[2].lower() == "cheb":
            raise InputFileError("Chebyshev coefficients as input ('cheb') are not supported; "
                                 "give per-band values and 'band'", path, line)
        raise InputFileError(f"expected 'values  n_coefficients  band' (GALFITM format), got "
                             f"{' '.join(tokens)!r}", path, line)
    values = _numbers(tokens[0].split(","), "parameter", path, line)
    if len(values) not in (1, n_bands):
        raise InputFileError(f"{len(values)} values for {n_bands} bands (give one value or "
                             "one per band)", path, line)
    if len(values) == 1:
        values = values * n_bands
    try:
        freedom = int(tokens[1])
    except ValueError:
        raise InputFileError(f"the number of free coefficients must be an integer, got "
                             f"{tokens[1]!r}", path, line) from None
    if not 0 <= freedom <= n_bands:
        raise InputFileError(f"the number of free coefficients must be between 0 and the "
                             f"number of bands ({n_bands}), got {freedom}", path, line)
    return values, freedom


def _read_lines(path):
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise InputFileError("feedme file not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read the file ({exc})", path) from None
    for number, raw in enumerate(text.splitlines(), start=1):
        parsed = _split(raw)
        if parsed is not None:
            yield number, parsed


def _control(path):
    """Control lines as ``{letter: (tokens, line)}`` and component lines as a list."""
    control, components = {}, []
    for number, (label, tokens) in _read_lines(path):
        if label == "0" or components:
            components.append((number, label, tokens))
        elif label in _SUPPORTED:
            control[label] = (tokens, number)
        else:
            raise InputFileError(f"unsupported or unrecognised line {label}) "
                                 f"{' '.join(tokens)}", path, number)
    return control, components


def read_galfitm(path):
    """Read a GALFITM multiband feedme file.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    GalfitmSetup

    Raises
    ------
    galfitax.exceptions.InputFileError
        Missing file, inconsistent band lists, unreadable lines, or
        features not implemented (constraint files, ``cheb`` inputs,
        Fourier modes); the message names the file and line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from galfitax.io.galfitm import read_galfitm
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "galfitm.feedme").write_text('''
    ... A) g.fits,r.fits,i.fits
    ... A1) g,r,i
    ... A2) 4770,6231,7625
    ... J) 30.0
    ... 0) sersic
    ... 1) 32.0 1 band
    ... 2) 33.0 1 band
    ... 3) 18.0,17.0,16.5 3 band
    ... 4) 8.0 2 band
    ... 5) 2.0 2 band
    ... 9) 0.6 1 band
    ... 10) 30.0 1 band
    ... ''')
    >>> setup = read_galfitm(folder / "galfitm.feedme")
    >>> setup.labels, setup.freedom[0]["re"], setup.values[0]["mag"]
    (['g', 'r', 'i'], 2, [18.0, 17.0, 16.5])
    """
    path = Path(path)
    control, component_lines = _control(path)
    if "A" not in control:
        raise InputFileError("no A) input data images", path)
    data_tokens, data_line = control["A"]
    data = _csl(data_tokens, "A", path, data_line)
    n_bands = len(data)
    labels = ([f"band{k}" for k in range(n_bands)] if "A1" not in control else
              _csl(*control["A1"][:1], "A1", path, control["A1"][1], None))
    if len(labels) != n_bands or len({label.lower() for label in labels}) != n_bands:
        raise InputFileError(f"A1) must give {n_bands} unique band labels, got {labels}", path,
                             control.get("A1", (None, data_line))[1])
    if "A2" not in control:
        if n_bands > 1:
            raise InputFileError("A2) band wavelengths are required for several bands", path)
        wavelengths = [0.0]
    else:
        wavelengths = _numbers(_csl(control["A2"][0], "A2", path, control["A2"][1]), "A2", path,
                               control["A2"][1])
        if len(wavelengths) != n_bands:
            raise InputFileError(f"A2) gives {len(wavelengths)} wavelengths for {n_bands} "
                                 "bands", path, control["A2"][1])
    if len(set(wavelengths)) != n_bands:
        raise InputFileError(f"A2) wavelengths must differ, got {wavelengths}", path,
                             control["A2"][1])
    per_band = {"data": data}
    for letter, attr in _PER_BAND_FILES.items():
        if letter != "A" and letter in control:
            tokens, line = control[letter]
            items = _csl(tokens, letter, path, line, n_bands)
            per_band[attr] = [None if item.lower() == "none" else item for item in items]
    for letter, attr, kind in (("J", "zeropoint", float), ("E", "psf_sampling", int)):
        if letter in control:
            tokens, line = control[letter]
            per_band[attr] = _numbers(_csl(tokens, letter, path, line, n_bands), letter, path,
                                      line, kind)
    shared = _shared_control(control, path)
    bands = []
    for b in range(n_bands):
        options = {attr: values[b] for attr, values in per_band.items()}
        setup = GalfitSetup(**options, **shared, folder=path.parent, path=path,
                            lines={letter: line for letter, (_, line) in control.items()})
        bands.append(setup)
    result = GalfitmSetup(labels=labels, wavelengths=np.asarray(wavelengths, dtype=float),
                          bands=bands, output=shared.get("output", "imgblock.fits"),
                          option=shared.get("option", 0), path=path, folder=path.parent)
    _read_components(result, component_lines, path)
    _sort_by_wavelength(result)
    return result


def _shared_control(control, path):
    shared = {}
    if "B" in control:
        shared["output"] = control["B"][0][0] if control["B"][0] else "imgblock.fits"
    if "G" in control:
        tokens, line = control["G"]
        if tokens and tokens[0].lower() != "none":
            raise InputFileError("constraint files are not supported for multiband fits yet",
                                 path, line)
    if "H" in control:
        tokens, line = control["H"]
        region = tuple(_numbers(tokens[:4], "H", path, line, int))
        if len(region) != 4 or region[0] < 1 or region[2] < 1 or region[1] < region[0] \
                or region[3] < region[2]:
            raise InputFileError(f"H) region {tokens} is not 'xmin xmax ymin ymax'", path, line)
        shared["region"] = region
    if "K" in control:
        tokens, line = control["K"]
        scale = _numbers(tokens[:2], "K", path, line)
        shared["plate_scale"] = (scale[0], scale[-1])
    if "P" in control:
        tokens, line = control["P"]
        option = _numbers(tokens[:1], "P", path, line, int)[0]
        if option not in (0, 1, 2):
            raise InputFileError(f"P) must be 0, 1 or 2 for multiband fits, got {option}",
                                 path, line)
        shared["option"] = option
    return shared


def _read_components(result, lines, path):
    n_bands = result.n_bands
    current = None
    for number, label, tokens in lines:
        if label == "0":
            current = _start_component(tokens, path, number)
            result.components.append(current.name)
            result.values.append({})
            result.freedom.append({})
            result.skip.append(False)
            continue
        if label == "Z":
            result.skip[-1] = bool(tokens) and tokens[0] == "1"
            continue
        key = _component_keys(current.name, label, path, number)
        values, freedom = _parameter_line(tokens, n_bands, path, number)
        result.values[-1][key] = values
        result.freedom[-1][key] = freedom
    if not result.components:
        raise InputFileError("no components (0) lines)", path)
    optional = {"c0": 0.0, "dsdx": 0.0, "dsdy": 0.0}
    for name, values, freedom in zip(result.components, result.values, result.freedom):
        for key in COMPONENTS[name].keys:
            if key not in values:
                if key not in optional:
                    raise InputFileError(f"component {name!r} lacks its {key!r} line", path)
                values[key] = [optional[key]] * n_bands
                freedom[key] = 0


def _sort_by_wavelength(result):
    order = np.argsort(result.wavelengths, kind="stable")
    result.labels = [result.labels[i] for i in order]
    result.wavelengths = result.wavelengths[order]
    result.bands = [result.bands[i] for i in order]
    result.values = [{key: [vals[i] for i in order] for key, vals in comp.items()}
                     for comp in result.values]


# -- outputs ---------------------------------------------------------------------------
def _band_photometry(model, bands, b):
    zeropoint = bands[b].zeropoint if bands is not None and bands[b].zeropoint is not None \
        else 0.0
    exptime = getattr(bands[b], "exptime", 1.0) if bands is not None else 1.0
    return Photometry(zeropoint, (1.0, 1.0), exptime)


def _band_fit_info(info, b):
    if not info:
        return None
    return dict(chi2=float(info["band_chi2"][b]), chi2_nu=float(info["band_chi2_nu"][b]),
                dof=int(round(info["band_n_good"][b] - info["n_free"] * info["band_n_good"][b]
                              / info["n_good"])), n_iter=info["n_iter"], nfev=info["nfev"],
                converged=info["converged"], nfree=info["n_free"])


def galfitm_results_table(model, bands=None, names=None):
    """Results with one row per component and band (GALFIT conventions per band).

    Parameters
    ----------
    model : `~galfitax.multiband.MultiBandModel`
        A fitted model (its ``band_models()`` give values and errors).
    bands : sequence of `~galfitax.multiband.Band`, optional
        For the zeropoints (magnitudes) and exposure times.
    names : list of str, optional
        GALFIT component names.

    Returns
    -------
    astropy.table.Table
        The columns of `galfitax.io.tables.results_table` plus ``band`` and
        ``wavelength``; fit statistics in ``meta``.
    """
    from galfitax.io.tables import results_table

    tables = []
    for b, band_model in enumerate(model.band_models()):
        table = results_table(band_model, _band_photometry(model, bands, b), names=names)
        table.meta.clear()
        table.add_column([model.band_names[b]] * len(table), name="band", index=1)
        table.add_column([float(model.wavelengths[b])] * len(table), name="wavelength",
                         index=2)
        tables.append(table)
    table = vstack(tables, metadata_conflicts="silent")
    table.sort(["component", "wavelength"])
    info = model.fit_info or {}
    for key in ("chi2", "chi2_nu", "dof", "n_iter", "nfev", "converged", "message"):
        if key in info:
            value = info[key]
            table.meta[key] = value.item() if isinstance(value, np.generic) else value
    table.meta["bands"] = list(model.band_names)
    return table


def _final_band_table(model, bands):
    from galfitax.io.tables import results_table

    rows = []
    for b, band_model in enumerate(model.band_models()):
        table = results_table(band_model, _band_photometry(model, bands, b))
        row = {"BAND": model.band_names[b], "WAVELENGTH": float(model.wavelengths[b])}
        for comp in table:
            number = int(comp["component"])
            for key in COMPONENTS[str(comp["type"])].keys:
                header_key = COMPONENTS[str(comp["type"])].header[key]
                row[f"COMP{number}_{header_key}"] = float(comp[key])
                row[f"COMP{number}_{header_key}_ERR"] = float(comp[f"{key}_err"])
        rows.append(row)
    return Table(rows=rows, names=list(rows[0]))


def _final_cheb_table(model):
    stds = model.stds
    return Table({"NAME": list(model.coeff_names), "KIND": list(model.coeff_kinds),
                  "VALUE": model.coefficients,
                  "ERR": stds if stds is not None else np.full(len(model.coeff_names), np.nan)})


def _fit_info_table(model):
    info = model.fit_info or {}
    return Table({"BAND": list(model.band_names),
                  "CHI2": np.asarray(info.get("band_chi2", [np.nan] * model.n_bands), float),
                  "NGOOD": np.asarray(info.get("band_n_good", [0] * model.n_bands), int),
                  "CHI2NU": np.asarray(info.get("band_chi2_nu", [np.nan] * model.n_bands),
                                       float)},
                 meta={key: value for key, value in (
                     ("CHI2", float(info.get("chi2", np.nan))),
                     ("CHI2NU", float(info.get("chi2_nu", np.nan))),
                     ("NDOF", int(info.get("dof", 0))), ("NITER", int(info.get("n_iter", 0))),
                     ("CONVERGD", bool(info.get("converged", False))))
                     if not (isinstance(value, float) and np.isnan(value))})


def write_galfitm(path, model, bands, *, names=None, overwrite=False, protected=()):
    """Write a fitted multiband model in GALFITM's output layout.

    Parameters
    ----------
    path : str or path-like
        Output FITS file.
    model : `~galfitax.multiband.MultiBandModel`
        The fitted model (``fit_info['model_images']`` holds the model images).
    bands : sequence of `~galfitax.multiband.Band`
        The bands fitted.
    names : list of str, optional
        GALFIT component names for ``COMP_<i>``.
    overwrite : bool
        Replace an existing output (files in ``protected`` never are).
    protected : iterable of path-like
        Input files that must not be replaced.

    Returns
    -------
    pathlib.Path
    """
    from galfitax.io.imgblock import imgblock_header

    images = (model.fit_info or {}).get("model_images")
    if images is None:
        from galfitax.multiband.fitter import model_images

        images = model_images(model, bands)
    hdus = [fits.PrimaryHDU()]
    info = model.fit_info or {}
    for b, (band, band_model) in enumerate(zip(bands, model.band_models())):
        label = model.band_names[b]
        data = np.where(band.mask, np.nan, band.data) if band.mask is not None else band.data
        photometry = _band_photometry(model, bands, b)
        header = imgblock_header(band_model, photometry, fit_info=_band_fit_info(info, b),
                                 names=names)
        header["BAND"] = (label, "Band label")
        header["WAVELEN"] = (float(model.wavelengths[b]), "Band wavelength")
        hdus.append(fits.ImageHDU(np.asarray(data, np.float32), name=f"INPUT_{label}"))
        hdus.append(fits.ImageHDU(np.asarray(images[b], np.float32), header=header,
                                  name=f"MODEL_{label}"))
        hdus.append(fits.ImageHDU(np.asarray(data - images[b], np.float32),
                                  name=f"RESIDUAL_{label}"))
    for table, name in ((_final_band_table(model, bands), "FINAL_BAND"),
                        (_final_cheb_table(model), "FINAL_CHEB"),
                        (_fit_info_table(model), "FIT_INFO")):
        hdu = fits.table_to_hdu(table)
        hdu.name = name
        hdus.append(hdu)
    hdul = fits.HDUList(hdus)
    return atomic_write(path, lambda tmp: hdul.writeto(tmp, overwrite=True),
                        overwrite=overwrite, protected=protected, suffix=".fits")


@dataclass
class GalfitmRun:
    """What `fit_galfitm` did: the fitted model, the bands, ``fit_info`` and the outputs."""

    model: object
    bands: list
    fit_info: dict
    outputs: dict

    @property
    def converged(self):
        """Whether the fit converged (True when no fit was run, ``P) 1/2``)."""
        return bool(self.fit_info.get("converged", True))


def fit_galfitm(path, *, fitter=None, overwrite=False, write=True, figure=False):
    """Run a GALFITM feedme: read, fit jointly, write the GALFITM-layout outputs.

    Writes ``B)`` (FITS, `write_galfitm`) and an ECSV table next to it
    (`galfitm_results_table`). ``P) 1`` or ``2`` writes the starting model
    without fitting.

    Parameters
    ----------
    path : str, path-like or GalfitmSetup
    fitter : `~galfitax.multiband.MultiBandFitter`, optional
    overwrite : bool
        Replace existing outputs (inputs are never replaced).
    write : bool
        Write the output files.
    figure : bool
        Not available for multiband fits (raises `ConfigurationError`).

    Returns
    -------
    GalfitmRun
    """
    from galfitax.multiband import MultiBandFitter

    if figure:
        raise ConfigurationError("figures are not available for multiband (GALFITM) fits")
    setup = path if isinstance(path, GalfitmSetup) else read_galfitm(path)
    bands = setup.load_bands()
    model = setup.build_model([band.exptime for band in bands], bands[0].shape)
    fitted = model
    if setup.option == 0:
        fitted = (fitter or MultiBandFitter())(model, bands)
    outputs = {}
    if write:
        output = setup.resolve(setup.output)
        table_path = output.with_suffix("").with_name(output.with_suffix("").name + ".ecsv")
        protected = [setup.path] + [
            band.resolve(getattr(band, attr)) for band in setup.bands
            for attr in ("data", "sigma", "psf", "mask")]
        for target in (output, table_path):
            check_output_path(target, overwrite=overwrite, protected=protected)
        outputs["imgblock"] = write_galfitm(output, fitted, bands, names=setup.components,
                                            overwrite=overwrite, protected=protected)
        table = galfitm_results_table(fitted, bands, names=setup.components)
        outputs["table"] = atomic_write(
            table_path, lambda tmp: table.write(tmp, format="ascii.ecsv", overwrite=True),
            overwrite=overwrite, protected=protected, suffix=".ecsv")
    return GalfitmRun(fitted, bands, dict(fitted.fit_info or {}), outputs)
