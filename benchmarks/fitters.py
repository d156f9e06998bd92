"""The three fitters the benchmark compares, on one fit problem of the shared bench cases.

A *problem* is what ``run_peers.problems_for_case`` returns (the whole image,
or one per-object cutout of family d): ``data``, ``sigma``, ``mask``,
``xoff``, ``yoff`` and ``fit`` (the components of ``truth.json["fit"]``:
initial guesses in the GALFIT convention, ``fixed`` and ``tie_center_to``).

* `fit_galfitax`: `galfitax.LevMarFitter` on ``PSFConvolvedModel(Sersic2D +
  ...)`` with the case's PSF as GALFIT/imfit use it (``pixel_response=
  "galfit"``: pixel-integrated model convolved with the PSF array), the
  sigma image and the mask;
* `fit_trf`: astropy's ``TRFLSQFitter`` on the *same* galfitax model, with
  galfitax's analytic ``fit_deriv`` (what an astropy user would write);
* pyimfit: ``run_peers.run_pyimfit_problem`` (imported, unchanged).

Every function returns the dict of ``run_peers.run_pyimfit_problem``:
``t_fit``, ``nfev``, ``components`` (truth.json convention), ``model``.
"""

import math
import time
import warnings

import numpy as np

from _shared import mc

__all__ = ["build_model", "fit_galfitax", "fit_galfitax_batch", "fit_trf", "recovered"]


def build_model(problem, psf, shape):
    """``PSFConvolvedModel`` of the problem's Sersic components at their initial guesses."""
    from galfitax import PSFConvolvedModel, Sersic2D

    ny, nx = shape
    dxy = mc.BOUNDS["dxy"]
    subs = []
    for comp in problem["fit"]:
        g = comp["init"]
        x0 = g["x"] - problem["xoff"] - 1.0
        y0 = g["y"] - problem["yoff"] - 1.0
        flux = 10.0 ** (-0.4 * (g["mag"] - mc.ZEROPOINT))
        m = Sersic2D(flux=flux, r_eff=g["r_e"], n=g["n"], x_0=x0, y_0=y0, ellip=1.0 - g["q"],
                     theta=math.radians(g["pa"] + 90.0))
        m.flux.bounds = (0.0, 1e4 * flux)
        m.r_eff.bounds = (mc.BOUNDS["r_e_min"], mc.BOUNDS["r_e_max_factor"] * max(ny, nx))
        m.n.bounds = tuple(mc.BOUNDS["n"])
        m.ellip.bounds = (1.0 - mc.BOUNDS["q"][1], 1.0 - mc.BOUNDS["q"][0])
        m.x_0.bounds = (x0 - dxy, x0 + dxy)
        m.y_0.bounds = (y0 - dxy, y0 + dxy)
        m.n.fixed = "n" in comp.get("fixed", [])
        subs.append(m)
    model = subs[0]
    for m in subs[1:]:
        model = model + m
    for k, comp in enumerate(problem["fit"]):
        t = comp.get("tie_center_to")
        if t is not None:
            model.tied[f"x_0_{k}"] = lambda mm, t=t: getattr(mm, f"x_0_{t}").value
            model.tied[f"y_0_{k}"] = lambda mm, t=t: getattr(mm, f"y_0_{t}").value
    return PSFConvolvedModel(model, psf, pixel_response="galfit")


def recovered(problem, parameters):
    """Components (truth.json convention) from a fitted parameter vector."""
    from run_peers import comp_from_Ie

    comps = []
    for k in range(len(problem["fit"])):
        flux, r_e, n, x0, y0, ellip, theta = parameters[8 * k:8 * k + 7]
        q = 1.0 - ellip
        comps.append(comp_from_Ie(x0 + 1.0 + problem["xoff"], y0 + 1.0 + problem["yoff"],
                                  flux / mc.sersic_total_flux(1.0, r_e, n, q), r_e, n, q,
                                  math.degrees(theta) - 90.0))
    return comps


def _model_image(model, shape):
    from galfitax.models.core import evaluate_model

    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    return np.asarray(evaluate_model(model, x, y))


def fit_galfitax(problem, psf, *, repeats=1, model=None, coarse_start="auto"):
    """LevMarFitter; ``t_fit`` of the first call (compiles) and the median of ``repeats`` more.

    ``nfev`` counts the full-resolution evaluations, ``coarse_nfev`` those of
    the fit on 2 x 2-binned pixels that large images start with (see
    ``LevMarFitter(coarse_start=...)``).
    """
    from galfitax import LevMarFitter

    shape = problem["data"].shape
    model = build_model(problem, psf, shape) if model is None else model
    fitter = LevMarFitter(coarse_start=coarse_start)
    times = []
    for _ in range(1 + repeats):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = fitter.fit_image(model, problem["data"], sigma=problem["sigma"],
                                      mask=problem["mask"] > 0)
        times.append(time.perf_counter() - t0)
    info = fitter.fit_info
    return {"t_first": times[0], "t_fit": float(np.median(times[1:])) if repeats else times[0],
            "nfev": info["nfev"], "coarse_nfev": info["coarse_nfev"], "niter": info["n_iter"],
            "converged": info["converged"],
            "components": recovered(problem, fitted.parameters),
            "model": _model_image(fitted, shape), "fitted": fitted}


def fit_galfitax_batch(problems, psf):
    """`LevMarFitter.fit_batch` over problems of one shape and structure; wall times."""
    from galfitax import LevMarFitter

    shape = problems[0]["data"].shape
    model = build_model(problems[0], psf, shape)
    starts = np.array([build_model(p, psf, shape).parameters for p in problems])
    images = np.stack([p["data"] for p in problems])
    sigmas = np.stack([p["sigma"] for p in problems])
    masks = np.stack([p["mask"] > 0 for p in problems])
    fitter = LevMarFitter()
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = fitter.fit_batch(model, images, sigmas=sigmas, masks=masks,
                                      initial_parameters=starts)
        times.append(time.perf_counter() - t0)
    return {"t_first": times[0], "t_fit": times[1], "fitted": fitted,
            "converged": np.asarray(fitter.fit_info["converged"]),
            "nfev": np.asarray(fitter.fit_info["nfev"])}


def fit_trf(problem, psf, *, model=None):
    """astropy ``TRFLSQFitter`` on the galfitax model with its analytic ``fit_deriv``."""
    from astropy.modeling.fitting import TRFLSQFitter

    shape = problem["data"].shape
    model = build_model(problem, psf, shape) if model is None else model
    good = problem["mask"] == 0
    weights = np.where(good, 1.0 / problem["sigma"], 0.0)
    data = np.where(good, problem["data"], 0.0)
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    fitter = TRFLSQFitter(calc_uncertainties=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # compile the model's evaluate and fit_deriv first: time the warm fit, as for galfitax
        fitter(model, x, y, data, weights=weights, maxiter=1, estimate_jacobian=False)
        t0 = time.perf_counter()
        fitted = fitter(model, x, y, data, weights=weights, maxiter=5000,
                        estimate_jacobian=False)
        t1 = time.perf_counter()
    info = fitter.fit_info
    return {"t_fit": t1 - t0, "nfev": int(getattr(info, "nfev", -1)),
            "converged": bool(getattr(info, "success", False)),
            "components": recovered(problem, fitted.parameters),
            "model": _model_image(fitted, shape)}
