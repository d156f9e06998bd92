"""Running GALFIT feedme files and imfit configs end to end (what ``galfitax fit`` does).

`fit_feedme` reads a feedme, loads its images, builds the model (PSF
convolved when ``D)`` names a PSF), fits it with `~galfitax.LevMarFitter`
and writes GALFIT's outputs: the imgblock named in ``B)``, a fitted feedme
(``galfit.NN`` next to it), an ECSV table and a DS9 region file. `fit_imfit`
does the same for an imfit config and image. Models of the same structure
and image shape reuse their compiled code, so a batch of feedme files in one
process compiles once.

The PSF wrapper and the fitter are reached through `convolve` and
`run_fitter` only.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from galfitax.exceptions import (
    ConfigurationError,
    InputFileError,
    InvalidImageError,
    InvalidPSFError,
)
from galfitax.io.conventions import Photometry
from galfitax.io.feedme import model_components, read_feedme
from galfitax.io.files import check_output_path
from galfitax.io.images import FitInputs, read_fits_image, read_mask

__all__ = ["FitRun", "convolve", "fit_feedme", "fit_imfit", "output_targets", "run_fitter",
           "unwrap_model", "write_outputs"]


@dataclass
class FitRun:
    """Everything one ``galfitax fit`` produced.

    Attributes
    ----------
    inputs : FitInputs
    model : astropy.modeling.Model
        The starting model (PSF-convolved when there is a PSF).
    fitted : astropy.modeling.Model
        The fitted copy (the starting model for ``P) 1-3``).
    fit_info : dict
        The fitter's diagnostics (empty when nothing was fitted).
    photometry : Photometry
    names : list of str
        GALFIT component names, in GALFIT numbering.
    skip : list of bool
        GALFIT ``Z)`` flags.
    setup : GalfitSetup or None
    outputs : dict
        Paths written, by kind (``imgblock``, ``feedme``, ``table``, ``regions``...).
    """

    inputs: FitInputs
    model: object
    fitted: object
    fit_info: dict
    photometry: Photometry
    names: list
    skip: list
    setup: object = None
    outputs: dict = field(default_factory=dict)

    @property
    def converged(self):
        """False only when a fit ran and did not converge."""
        return bool(self.fit_info.get("converged", True))

    def model_image(self, model=None, include_skipped=False):
        """The fitted model on the fitting region (GALFIT ``Z) 1`` components left out)."""
        from galfitax.models.core import evaluate_model

        fitted_image = self.fit_info.get("model_image")
        if (model is None and fitted_image is not None
                and np.shape(fitted_image) == np.shape(self.inputs.data)):
            image = np.array(fitted_image)  # the fit's own image: nothing to compile
        else:
            model = self.fitted if model is None else model
            image = np.asarray(evaluate_model(model, self.inputs.x, self.inputs.y))
        if include_skipped or not any(self.skip):
            return image
        for index in np.flatnonzero(self.skip):
            image = image - self.component_image(int(index), model)
        return image

    def component_image(self, index, model=None):
        """Image of one component (0-based index), PSF-convolved like the fit."""
        from galfitax.models.core import evaluate_model

        model = self.fitted if model is None else model
        leaf = model_components(model)[index]
        if self.inputs.psf is not None and type(leaf).__name__ not in ("FlatSky", "TiltedSky"):
            leaf = convolve(leaf, self.inputs.psf, self.inputs.psf_sampling)
        return np.asarray(evaluate_model(leaf, self.inputs.x, self.inputs.y))


def convolve(model, psf, sampling=1):
    """``PSFConvolvedModel(model, psf)`` with GALFIT's PSF convention (see `galfitax.psf`)."""
    from galfitax.models.convolved import PSFConvolvedModel

    return PSFConvolvedModel(model, np.asarray(psf, dtype=float),
                             psf_oversampling=int(sampling), pixel_response="galfit")


def run_fitter(model, inputs, fitter=None, **options):
    """Fit ``model`` to `FitInputs`; returns ``(fitted, fit_info)``."""
    from galfitax.fitting import LevMarFitter

    fitter = LevMarFitter() if fitter is None else fitter
    fitted = fitter(model, inputs.x, inputs.y, inputs.data, sigma=inputs.sigma,
                    mask=inputs.mask, **options)
    return fitted, dict(fitter.fit_info)


def _next_feedme_name(folder):
    for number in range(1, 10000):
        candidate = Path(folder) / f"galfit.{number:02d}"
        if not candidate.exists():
            return candidate
    raise InputFileError("no free galfit.NN name", folder)  # pragma: no cover


def fit_feedme(path, *, fitter=None, overwrite=False, write=True, extras=True, figure=False):
    """Run a GALFIT input file: fit (per ``P)``) and write the outputs.

    Parameters
    ----------
    path : str, path-like or GalfitSetup
    fitter : astropy fitter, optional
        Default `~galfitax.LevMarFitter` (a new one per call; compiled code
        is shared between calls anyway).
    overwrite : bool
        Replace existing outputs (inputs are never replaced).
    write : bool
        Write the output files.
    extras : bool
        Also write the fitted feedme (``galfit.NN``), the ECSV table and the
        region file next to the imgblock.
    figure : bool
        Also write a PNG figure (needs matplotlib).

    Returns
    -------
    FitRun
    """
    setup = path if not isinstance(path, (str, Path)) else read_feedme(path)
    inputs = setup.load_inputs()
    photometry = setup.photometry(inputs.exptime)
    model = setup.build_model(inputs.exptime, inputs.shape)
    if inputs.psf is not None:
        model = convolve(model, inputs.psf, inputs.psf_sampling)
    if write:
        output = setup.resolve(setup.output)
        protected = [setup.resolve(getattr(setup, a)) for a in
                     ("data", "sigma", "psf", "mask", "constraints_file")] + [setup.path]
        output_targets(output, overwrite=overwrite, protected=protected,
                       extras=extras and setup.option == 0, figure=figure, feedme=True)
    fitted, fit_info = model, {}
    if setup.option == 0:
        fitted, fit_info = run_fitter(model, inputs, fitter)
    run = FitRun(inputs, model, fitted, fit_info, photometry,
                 [c.name for c in setup.components], [c.skip for c in setup.components], setup)
    if write:
        write_outputs(run, output, overwrite=overwrite, protected=protected,
                      extras=extras and setup.option == 0, figure=figure)
    return run


def fit_imfit(config, image, *, psf=None, mask=None, noise=None, errors_are_variances=False,
              gain=None, readnoise=None, sky=None, ncombine=None, output=None, fitter=None,
              overwrite=False, zeropoint=0.0, extras=True, figure=False):
    """Fit an imfit config to an image with imfit's options and meanings.

    Without ``noise`` the sigma image comes from the data as imfit makes it:
    ``GAIN``, ``READNOISE``, ``NCOMBINE`` and ``ORIGINAL_SKY`` (the sky
    already subtracted) from the arguments or the config. ``output``
    (default: no file) receives a GALFIT-style imgblock.

    Returns
    -------
    FitRun
    """
    from galfitax.io.imfit_config import read_imfit_config

    config = read_imfit_config(config) if isinstance(config, (str, Path)) else config
    data, header = read_fits_image(image, "data image")
    finite = np.isfinite(data)
    if not finite.any():
        raise InvalidImageError(f"data image {str(image)!r} has no finite pixel (all NaN/inf)")
    bad = ~finite
    if mask is not None:
        bad |= read_mask(mask, data.shape)
    options = config.options
    if noise is not None:
        sigma, _ = read_fits_image(noise, "noise image")
        if sigma.shape != data.shape:
            raise InvalidImageError(f"noise image has shape {sigma.shape}, the data image "
                                    f"{data.shape}")
        if errors_are_variances:
            sigma = np.sqrt(np.where(sigma > 0, sigma, np.nan))
        bad |= ~(np.isfinite(sigma) & (sigma > 0))
    else:
        from galfitax.fitting import sigma_from_data

        sigma = sigma_from_data(np.where(bad, 0.0, data),
                                gain=gain if gain is not None else options.get("GAIN", 1.0),
                                read_noise=readnoise if readnoise is not None else options.get(
                                    "READNOISE", 0.0),
                                ncombine=ncombine if ncombine is not None else options.get(
                                    "NCOMBINE", 1),
                                sky=sky if sky is not None else options.get("ORIGINAL_SKY", 0.0))
        bad |= ~np.isfinite(sigma)
    if bad.all():
        raise InvalidImageError("every pixel is masked")
    psf_array = None
    if psf is not None:
        psf_array, _ = read_fits_image(psf, "PSF image")
        if psf_array.shape[0] > data.shape[0] or psf_array.shape[1] > data.shape[1]:
            raise InvalidPSFError(f"PSF image ({psf_array.shape[1]} x {psf_array.shape[0]}) is "
                                  f"larger than the {data.shape[1]} x {data.shape[0]} image")
    y, x = np.mgrid[0:data.shape[0], 0:data.shape[1]].astype(float)
    inputs = FitInputs(np.where(bad, 0.0, data), np.where(bad, 1.0, sigma), bad, psf_array, x, y,
                       (1, data.shape[1], 1, data.shape[0]), header,
                       float(options.get("EXPTIME", 1.0)), 1)
    protected = [config.path, image, psf, mask, noise]
    if output is not None:
        output_targets(output, overwrite=overwrite, protected=protected, extras=extras,
                       figure=figure, imfit=True)
    model = config.build_model()
    if psf_array is not None:
        model = convolve(model, psf_array)
    fitted, fit_info = run_fitter(model, inputs, fitter)
    from galfitax.io.conventions import galfit_name

    leaves = model_components(fitted)
    run = FitRun(inputs, model, fitted, fit_info, Photometry(zeropoint, (1.0, 1.0),
                                                             inputs.exptime),
                 [galfit_name(leaf) for leaf in leaves], [False] * len(leaves))
    if output is not None:
        write_outputs(run, Path(output), overwrite=overwrite, protected=protected, extras=extras,
                      figure=figure, imfit=True)
    return run


def output_targets(output, *, overwrite=False, protected=(), extras=True, figure=False,
                   feedme=False, imfit=False):
    """The files `write_outputs` will write, by kind, each checked with `check_output_path`.

    Called before a fit as well, so that a refused output is reported before
    the fit's time is spent.
    """
    output = Path(output)
    stem = output.with_suffix("")
    targets = {"imgblock": output}
    if extras:
        targets["table"] = stem.with_name(stem.name + ".ecsv")
        targets["regions"] = stem.with_name(stem.name + ".reg")
        if feedme:
            targets["feedme"] = _next_feedme_name(output.parent)
        elif imfit:
            targets["config"] = stem.with_name(stem.name + ".imfit.dat")
    if figure:
        targets["figure"] = stem.with_name(stem.name + ".png")
    for path in targets.values():
        check_output_path(path, overwrite=overwrite, protected=protected)
    return targets


def write_outputs(run, output, *, overwrite=False, protected=(), extras=True, figure=False,
                  imfit=False):
    """Write a run's imgblock (or model / subcomponents per ``P)``) and extras.

    Every path is checked before anything is written, so a refused file
    leaves no partial set of outputs.
    """
    from galfitax.io.imgblock import imgblock_header, write_imgblock, write_subcomponents
    from galfitax.io.regions import write_regions
    from galfitax.io.tables import results_table, write_results_table

    output = Path(output)
    option = run.setup.option if run.setup is not None else 0
    targets = output_targets(output, overwrite=overwrite, protected=protected, extras=extras,
                             figure=figure, feedme=run.setup is not None, imfit=imfit)
    written = {}
    inputs = run.inputs
    if option == 1:
        from astropy.io import fits

        from galfitax.io.files import atomic_write

        hdu = fits.PrimaryHDU(run.model_image().astype(np.float32),
                              header=imgblock_header(run.fitted, run.photometry, setup=run.setup,
                                                     names=run.names))
        written["model"] = atomic_write(output, lambda tmp: hdu.writeto(tmp, overwrite=True),
                                        overwrite=overwrite, protected=protected)
    elif option == 3:
        images = [run.component_image(i) for i in range(len(run.names))]
        written["subcomponents"] = write_subcomponents(output, inputs.data, images, run.names,
                                                       overwrite=overwrite, protected=protected)
    else:
        header = imgblock_header(run.fitted, run.photometry, fit_info=run.fit_info,
                                 setup=run.setup, region=inputs.region, names=run.names)
        written["imgblock"] = write_imgblock(output, np.where(inputs.mask, np.nan, inputs.data),
                                             run.model_image(), header=header,
                                             data_header=inputs.header, overwrite=overwrite,
                                             protected=protected)
    if "table" in targets:
        table = results_table(run.fitted, run.photometry, fit_info=run.fit_info,
                              names=run.names)
        written["table"] = write_results_table(table, targets["table"], overwrite=overwrite,
                                               protected=protected)
    if "regions" in targets:
        try:
            written["regions"] = write_regions(run.fitted, targets["regions"],
                                               overwrite=overwrite, protected=protected)
        except ConfigurationError:  # pragma: no cover - regions is an optional extra
            pass
    if "feedme" in targets:
        from galfitax.io.feedme import write_feedme

        fitted_setup = run.setup.with_model(run.fitted, inputs.exptime)
        written["feedme"] = write_feedme(fitted_setup, targets["feedme"], overwrite=overwrite)
    if "config" in targets:
        from galfitax.io.imfit_config import write_imfit_config

        written["config"] = write_imfit_config(unwrap_model(run.fitted), targets["config"],
                                               overwrite=overwrite)
    if "figure" in targets:
        from galfitax.plotting import plot_fit

        written["figure"] = plot_fit(run, path=targets["figure"], overwrite=overwrite)
    run.outputs.update(written)
    return written


def unwrap_model(model):
    """The model inside PSF-convolution wrappers (the model itself if none)."""
    inner = model
    while hasattr(getattr(inner, "model", None), "param_names"):
        inner = inner.model
    return inner
