"""GALFIT-style output image blocks: input, model and residual in one FITS file.

The layout and header keywords follow GALFIT's, so scripts that parse GALFIT
output keep working: HDU 0 is an empty primary, 1 the input cutout, 2 the
model (with ``COMP_1 = 'sersic'``, ``1_XC = '32.1234 +/- 0.0123'``,
``1_MAG``, ``1_RE`` ..., ``CHI2``, ``NDOF``, ``NFREE``, ``CHI2NU``,
``FITSECT``, ``CONVBOX``, ``MAGZPT``, ``INITFILE``, ``DATAIN`` ...), 3 the
residual. Fixed (and tied) parameters are written in brackets,
``'[18.2140]'``, as GALFIT does.
"""

import numpy as np
from astropy.io import fits

from galfitax.io.conventions import COMPONENTS, Photometry, galfit_errors, model_to_galfit
from galfitax.io.files import atomic_write

__all__ = ["component_stds", "imgblock_header", "read_imgblock_header", "write_imgblock",
           "write_subcomponents"]


def component_stds(model):
    """Per-component dicts ``{parameter: std}`` from a fitted model's ``stds``.

    Fixed and tied parameters (absent from ``model.stds``) map to None; a
    model without ``stds`` (not fitted) gives None for every component.
    """
    from galfitax.io.feedme import model_components

    leaves = model_components(model)
    stds_obj = getattr(model, "stds", None)
    inner = model if len(leaves) == 1 else None
    lookup = {}
    if stds_obj is not None:
        for name, value in zip(stds_obj.param_names, stds_obj.stds):
            lookup[name] = float(value) if np.isfinite(value) else None
    if stds_obj is None:
        return [None] * len(leaves)
    out = []
    for index, leaf in enumerate(leaves):
        stds = {}
        for pname in leaf.param_names:
            full = pname if inner is not None else f"{pname}_{index}"
            stds[pname] = lookup.get(full, lookup.get(pname) if inner is not None else None)
        out.append(stds)
    return out


def _held(model, index, pname, n_leaves):
    """Whether a parameter was not fitted (fixed or tied)."""
    full = pname if n_leaves == 1 else f"{pname}_{index}"
    return bool(model.fixed.get(full)) or bool(model.tied.get(full))


def _value_text(value, error, held):
    if held:
        return f"[{value:.4f}]"
    if error is None or not np.isfinite(error):
        return f"{value:.4f} +/- nan"
    return f"{value:.4f} +/- {error:.4f}"


def _inner(model):
    from astropy.modeling import CompoundModel

    inner = model
    while not isinstance(inner, CompoundModel) and hasattr(getattr(inner, "model", None),
                                                           "param_names"):
        inner = inner.model
    return inner


def imgblock_header(model, photometry=None, *, fit_info=None, setup=None, region=None,
                    conv_box=None, names=None):
    """GALFIT's model-extension header for a (fitted) model.

    Parameters
    ----------
    model : astropy.modeling.Model
        galfitax model (sum of components, possibly PSF-wrapped), ideally a
        fitted copy with ``stds``.
    photometry : Photometry, optional
    fit_info : dict, optional
        The fitter's ``fit_info`` (``chi2``, ``dof``, ``chi2_nu`` ...).
    setup : GalfitSetup, optional
        Source of the file names (``INITFILE``, ``DATAIN``, ``SIGMA``, ``PSF``,
        ``CONSTRNT``, ``MASK``).
    region : tuple, optional
        1-based inclusive ``(xmin, xmax, ymin, ymax)`` (``FITSECT``).
    conv_box : tuple, optional
    names : list of str, optional
        GALFIT component names to use (e.g. ``devauc`` for a de Vaucouleurs
        component read from a feedme).

    Returns
    -------
    astropy.io.fits.Header

    Examples
    --------
    >>> from galfitax import Sersic2D
    >>> from galfitax.io.conventions import Photometry
    >>> from galfitax.io.imgblock import imgblock_header
    >>> header = imgblock_header(Sersic2D(flux=100.0, r_eff=3.0, n=2.0, x_0=10.0, y_0=11.0),
    ...                          Photometry(25.0))
    >>> header["COMP_1"], header["1_XC"], header["1_MAG"]
    ('sersic', '11.0000 +/- nan', '20.0000 +/- nan')
    """
    from galfitax import __version__
    from galfitax.io.feedme import _model_params, model_components

    photometry = photometry or Photometry()
    leaves = model_components(model)
    inner = _inner(model)
    stds = component_stds(model)
    header = fits.Header()
    header["OBJECT"] = "model"
    header["FITTER"] = f"galfitax {__version__}"[:68]
    if setup is not None:
        header["INITFILE"] = str(setup.path.name) if setup.path else "none"
        for key, attr in (("DATAIN", "data"), ("SIGMA", "sigma"), ("PSF", "psf"),
                          ("CONSTRNT", "constraints_file"), ("MASK", "mask")):
            header[key] = str(getattr(setup, attr) or "none")
        region = region or setup.region
        conv_box = conv_box or setup.conv_box
    if region is not None:
        header["FITSECT"] = (f"[{region[0]}:{region[1]},{region[2]}:{region[3]}]",
                             "Image section fitted")
    if conv_box is not None:
        header["CONVBOX"] = (f"{conv_box[0]}, {conv_box[1]}", "Convolution box size")
    header["MAGZPT"] = (float(photometry.zeropoint), "Magnitude zeropoint")
    header["EXPTIME"] = float(photometry.exptime)
    header["COMMENT"] = "=" * 60
    for index, (leaf, leaf_stds) in enumerate(zip(leaves, stds)):
        number = index + 1
        own_name, values = model_to_galfit(leaf, photometry)
        name = own_name if names is None else names[index]
        errors = galfit_errors(leaf, photometry, leaf_stds)
        spec = COMPONENTS[own_name]
        header[f"COMP_{number}"] = (name, "Component type")
        for key, value in values.items():
            if key == "c0" and value == 0.0 and leaf.c0.fixed:
                continue
            pnames = _model_params(leaf, own_name, key)
            held = all(_held(inner, index, p, len(leaves)) for p in pnames) if pnames else True
            header[f"{number}_{spec.header[key]}"] = _value_text(value, errors.get(key), held)
    header["COMMENT"] = "=" * 60
    if fit_info:
        chi2 = fit_info.get("chi2")
        dof = fit_info.get("dof")
        n_free = fit_info.get("n_free")
        for key, value, comment in (
                ("CHI2", chi2, "Chi^2 of fit"), ("NDOF", dof, "Degrees of freedom"),
                ("NFREE", n_free, "Number of free parameters"),
                ("NFIX", None if n_free is None else len(inner.param_names) - n_free,
                 "Number of fixed parameters"),
                ("CHI2NU", fit_info.get("chi2_nu"), "Reduced Chi^2"),
                ("NITER", fit_info.get("n_iter"), "Iterations"),
                ("NFEV", fit_info.get("nfev"), "Model evaluations"),
                ("CONVERGD", fit_info.get("converged"), "Fit converged")):
            if value is not None:
                value = bool(value) if key == "CONVERGD" else (
                    int(value) if key in ("NDOF", "NFREE", "NFIX", "NITER", "NFEV")
                    else float(value))
                header[key] = (value, comment)
    header["LOGFILE"] = ("none", "see the ECSV table")
    return header


def read_imgblock_header(header):
    """Parse GALFIT-format component keywords back into numbers.

    Returns
    -------
    list of dict
        One dict per component: ``{"type": name, key: (value, error_or_None,
        held)}`` with ``key`` the header suffix (``XC``, ``MAG`` ...).

    Examples
    --------
    >>> from astropy.io import fits
    >>> from galfitax.io.imgblock import read_imgblock_header
    >>> h = fits.Header({"COMP_1": "sersic", "1_MAG": "18.2140 +/- 0.0213", "1_N": "[4.0000]"})
    >>> read_imgblock_header(h)
    [{'type': 'sersic', 'MAG': (18.214, 0.0213, False), 'N': (4.0, None, True)}]
    """
    out = []
    number = 1
    while f"COMP_{number}" in header:
        comp = {"type": header[f"COMP_{number}"]}
        prefix = f"{number}_"
        for key in header:
            if not key.startswith(prefix):
                continue
            text = str(header[key]).replace("*", "").strip()
            held = text.startswith("[")
            if held:
                comp[key[len(prefix):]] = (float(text.strip("[]{}")), None, True)
            else:
                value, _, error = text.partition("+/-")
                comp[key[len(prefix):]] = (float(value), float(error) if error else None, False)
        out.append(comp)
        number += 1
    return out


def _image_hdu(array, name, header=None):
    hdu = fits.ImageHDU(np.asarray(array, dtype=np.float32), header=header, name=name)
    return hdu


def write_imgblock(path, data, model_image, *, header=None, data_header=None, overwrite=False,
                   protected=()):
    """Write a GALFIT-style imgblock: [0] empty, [1] input, [2] model, [3] residual.

    Parameters
    ----------
    path : str or path-like
    data : array_like
        Input cutout (the fitting region).
    model_image : array_like
        Model of the components not marked "skip" (GALFIT ``Z) 1``).
    header : astropy.io.fits.Header, optional
        Model header (`imgblock_header`).
    data_header : astropy.io.fits.Header, optional
        Header of the input image (copied into HDU 1, without structural keys).
    overwrite : bool
        Replace an existing output (inputs in ``protected`` never are).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from astropy.io import fits
    >>> from galfitax.io.imgblock import write_imgblock
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "imgblock.fits"
    >>> _ = write_imgblock(path, np.ones((4, 5)), np.full((4, 5), 0.25))
    >>> with fits.open(path) as hdul:
    ...     [h.name for h in hdul], float(hdul[3].data[0, 0])
    (['PRIMARY', 'INPUT', 'MODEL', 'RESIDUAL'], 0.75)
    """
    data = np.asarray(data, dtype=float)
    model_image = np.asarray(model_image, dtype=float)
    input_header = fits.Header()
    if data_header is not None:
        for card in data_header.cards:
            if card.keyword not in ("SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND",
                                    "XTENSION", "PCOUNT", "GCOUNT", "BSCALE", "BZERO", "",
                                    "COMMENT", "HISTORY", "EXTNAME"):
                input_header.append(card)
    hdul = fits.HDUList([fits.PrimaryHDU(), _image_hdu(data, "INPUT", input_header),
                         _image_hdu(model_image, "MODEL", header),
                         _image_hdu(data - model_image, "RESIDUAL")])
    return atomic_write(path, lambda tmp: hdul.writeto(tmp, overwrite=True),
                        overwrite=overwrite, protected=protected)


def write_subcomponents(path, data, component_images, names, *, overwrite=False, protected=()):
    """Write each component's image as its own extension (GALFIT ``P) 3``).

    HDU 0 holds the input cutout, HDU ``k`` component ``k`` (``COMP_k``
    extension name, ``OBJECT`` = its GALFIT type).
    """
    hdus = [fits.PrimaryHDU(np.asarray(data, dtype=np.float32))]
    for number, (image, name) in enumerate(zip(component_images, names), start=1):
        header = fits.Header({"OBJECT": name, "COMPNUM": number})
        hdus.append(_image_hdu(image, f"COMP_{number}", header))
    hdul = fits.HDUList(hdus)
    return atomic_write(path, lambda tmp: hdul.writeto(tmp, overwrite=True),
                        overwrite=overwrite, protected=protected)
