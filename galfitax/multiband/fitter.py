"""`MultiBandFitter`: one joint Levenberg-Marquardt fit of a `MultiBandModel` to all bands."""

import warnings

import numpy as np

import galfitax._jax.multiband  # noqa: F401  (registers the "band" plan node)
from galfitax._jax.lm import CONVERGED_STATUSES, STATUS_MESSAGES, LMOptions
from galfitax._jax.objective import TermData, TermSpec, run_fit
from galfitax.exceptions import ConvergenceWarning, InvalidModelError, InvalidParameterError
from galfitax.fitting.fitter import _covariance, _prepare_image
from galfitax.models.core import _check_parameters
from galfitax.models.grid import grid_for_shape
from galfitax.models.plan import build_plan
from galfitax.multiband.model import MultiBandModel

__all__ = ["MultiBandFitter", "band_specs", "model_images"]


def _band_render_model(model, band, index):
    """The band's model to render: its template copy, PSF-convolved when the band has a PSF."""
    from galfitax.models.convolved import PSFConvolvedModel

    template = model._band_template(index)
    template.parameters = model.band_parameters()[index]
    if not band.has_psf:
        return template
    options = {key: value for key, value in band.psf_options.items() if value is not None}
    return PSFConvolvedModel(template, band.psf, **options)


def band_specs(model, bands):
    """Static `~galfitax._jax.objective.TermSpec` of every band (plans with PSF and limits)."""
    n_params = len(model.param_names)
    specs = []
    for b, band in enumerate(bands):
        plan, _, count = build_plan(_band_render_model(model, band, b))
        if count != n_params:  # pragma: no cover - PSFConvolvedModel mirrors the parameters
            raise InvalidModelError("band model parameters do not match the template")
        node = ("band", plan, model.varying_indices(b), model.limits[b])
        specs.append(TermSpec(node, tuple(band.shape), 1.0,
                              tuple(range(b * n_params, (b + 1) * n_params))))
    return tuple(specs)


def model_images(model, bands):
    """Model image of every band (PSF-convolved when the bands have PSFs)."""
    from galfitax.models.core import evaluate_model

    bands = model.check_bands(bands)
    images = []
    for b, band in enumerate(bands):
        ny, nx = band.shape
        y, x = np.mgrid[0:ny, 0:nx].astype(float)
        images.append(evaluate_model(_band_render_model(model, band, b), x + band.origin[0],
                                     y + band.origin[1]))
    return images


class MultiBandFitter:
    """Fit a `MultiBandModel` jointly to several bands (GALFITM-style).

    The residuals of all bands (each with its own PSF, sigma image and mask)
    form one least-squares problem in the model's coefficients, solved by
    galfitax's compiled Levenberg-Marquardt loop (the one `LevMarFitter`
    uses). Each band's Jacobian is computed once per iteration with respect
    to that band's own parameters and mapped to the coefficients, so a fit
    of ``B`` bands costs about ``B`` single-band fits per iteration.

    Calling the fitter returns a fitted copy of the model: its
    ``coefficients`` and ``cov_matrix`` (inverse Fisher matrix of the
    coefficients; coefficients ending on a bound get nan), per-band values
    via ``band_models()`` / ``band_table()`` with uncertainties propagated as
    ``A_b Cov A_b^T``. `fit_info` (also stored on the fitted model) holds
    ``chi2``, ``dof``, ``chi2_nu`` (total) and per band ``band_chi2``,
    ``band_n_good``, ``band_chi2_nu`` (the free coefficients shared among
    bands in proportion to their pixel counts), the model images
    ``model_images`` and the solver's status.

    Parameters
    ----------
    scale_covariance : bool
        Multiply the covariance by the total reduced chi2 (default False:
        sigma images are taken as absolute).

    Examples
    --------
    >>> import numpy as np
    >>> from galfitax import Sersic2D
    >>> from galfitax.multiband import Band, MultiBandFitter, MultiBandModel
    >>> y, x = np.mgrid[0:40, 0:40]
    >>> truth = [Sersic2D(flux=f, r_eff=r, n=1.5, x_0=19.6, y_0=20.2, ellip=0.3, theta=0.5)
    ...          for f, r in ((800.0, 4.0), (1200.0, 5.0))]
    >>> bands = [Band(m(x, y), w, sigma=np.ones((40, 40)), name=n)
    ...          for m, w, n in zip(truth, (5000.0, 7000.0), "gr")]
    >>> start = Sersic2D(flux=1000.0, r_eff=4.5, n=2.0, x_0=20.0, y_0=20.0, ellip=0.2, theta=0.4)
    >>> fitter = MultiBandFitter()
    >>> fitted = fitter(MultiBandModel(start, bands=bands), bands)
    >>> fitter.fit_info["converged"], [round(float(r), 4) for r in fitted.band_table()["r_eff"]]
    (True, [4.0, 5.0])
    """

    def __init__(self, *, scale_covariance=False):
        self.scale_covariance = bool(scale_covariance)
        self.fit_info = {}

    def __call__(self, model, bands, *, maxiter=500, ftol=1e-10, xtol=1e-10, gtol=1e-10):
        """Fit ``model`` to ``bands``; return the fitted copy.

        Parameters
        ----------
        model : `MultiBandModel`
            Structure and starting coefficients.
        bands : sequence of `~galfitax.multiband.Band`
            One per model band, same wavelengths, same order.
        maxiter, ftol, xtol, gtol
            Solver limits, as for `~galfitax.LevMarFitter`.

        Returns
        -------
        MultiBandModel
        """
        if not isinstance(model, MultiBandModel):
            raise InvalidModelError(f"model must be a MultiBandModel, got "
                                    f"{type(model).__name__}")
        bands = model.check_bands(bands)
        free0 = np.clip(model.coefficients, model.lower, model.upper)
        start = model.band_parameters(free0)
        for row in start:
            _check_parameters(row, model._checks, model.param_names)
        self._check_limits(model, start)
        prepared = [
            _prepare_image(band.data, grid_for_shape(band.shape), sigma=band.sigma,
                           weights=None, mask=band.mask, region=None, statistic="chi2",
                           noise=band.noise)
            for band in bands
        ]
        specs = band_specs(model, bands)
        terms = tuple(TermData(p.data, p.weight, np.float64(band.origin[0]),
                               np.float64(band.origin[1]), np.float64(0.0))
                      for p, band in zip(prepared, bands))
        result, fisher, images = run_fit(specs, "chi2", free0, model.matrix, model.offset,
                                         model.lower, model.upper, terms,
                                         LMOptions(ftol, xtol, gtol, maxiter))
        fitted = model.copy()
        fitted.coefficients = np.asarray(result.params, dtype=float)
        cov, at_bound = _covariance(np.asarray(fisher), fitted.coefficients, model.lower,
                                    model.upper)
        info = self._info(fitted, result, prepared, images, at_bound)
        if self.scale_covariance and info["dof"] > 0:
            cov = cov * info["chi2_nu"]
        fitted.cov_matrix = cov
        info["param_cov"] = cov
        fitted.fit_info = info
        self.fit_info = info
        if not info["converged"]:
            warnings.warn(f"the multiband fit did not converge: {info['message']} (after "
                          f"{info['n_iter']} iterations)", ConvergenceWarning, stacklevel=2)
        return fitted

    @staticmethod
    def _check_limits(model, values):
        for b, limits in enumerate(model.limits):
            for index, low, high in limits:
                value = values[b, index]
                if (low is not None and value < low) or (high is not None and value > high):
                    raise InvalidParameterError(
                        f"band {model.band_names[b]!r}: starting value of "
                        f"{model.param_names[index]!r} = {value!r} is outside its bounds "
                        f"[{low}, {high}]")

    @staticmethod
    def _info(fitted, result, prepared, images, at_bound):
        status = int(result.status)
        n_coeffs = len(fitted.coeff_names)
        band_chi2 = np.array([float(np.sum(((p.data - image) * p.weight) ** 2))
                              for p, image in zip(prepared, images)])
        band_n_good = np.array([p.n_good for p in prepared])
        n_good = int(band_n_good.sum())
        dof = n_good - n_coeffs
        chi2 = float(band_chi2.sum())
        share = n_coeffs * band_n_good / n_good
        with np.errstate(divide="ignore", invalid="ignore"):
            band_chi2_nu = np.where(band_n_good > share, band_chi2 / (band_n_good - share),
                                    np.nan)
        return dict(
            chi2=chi2, dof=dof, chi2_nu=chi2 / dof if dof > 0 else np.nan, n_good=n_good,
            n_free=n_coeffs, band_names=list(fitted.band_names), band_chi2=band_chi2,
            band_n_good=band_n_good, band_chi2_nu=band_chi2_nu,
            n_iter=int(result.n_iter), nfev=int(result.nfev), njev=int(result.njev),
            status=status, message=STATUS_MESSAGES[status],
            converged=status in CONVERGED_STATUSES, param_names=list(fitted.coeff_names),
            at_bounds=[name for name, flag in zip(fitted.coeff_names, at_bound) if flag],
            sigma_source=[p.sigma_source for p in prepared],
            model_images=[np.asarray(image) for image in images],
        )
