"""Validate LevMarFitter on the shared synthetic bench cases (families a, b, c).

Generate the cases first (outside the repository)::

    python ../shared/bench/make_cases.py --out /tmp/bench_cases --families a,b,c

then::

    python benchmarks/validate_bench_cases.py /tmp/bench_cases [--families a,b,c]
        [--every 1] [--out results.json]

Every case is fitted from the perturbed starting guesses of
``truth.json["fit"]`` (not the feedme), with the case's sigma image, mask and
PSF (``PSFConvolvedModel(..., pixel_response="galfit")``: the pixel-integrated
model convolved with the PSF array, which is how the truth images were made),
the bench bounds, fixed and tied parameters. Printed: convergence rate,
median absolute errors (mag, r_e, n, q) by family and S/N, and the pull
statistics ``(fitted - true) / reported sigma`` (median and robust std =
1.4826 MAD) of mag, r_e, n, q, PA for components with S/N >= 50, next to
pyimfit's numbers of ``../shared/bench/PEERS.md``.
"""

import argparse
import json
import math
import time
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

ZEROPOINT = 30.0
# pyimfit, family a by target S/N (../shared/bench/PEERS.md): |dmag|, |rel r_e|, |rel n|, |rel q|
PYIMFIT_A = {20: (0.0839, 0.164, 0.223, 0.117), 60: (0.0394, 0.036, 0.141, 0.039),
             200: (0.0061, 0.0103, 0.0222, 0.00581), 1000: (0.00164, 0.00214, 0.00353, 0.0029)}
PYIMFIT_FAMILY = {"a": (0.0167, 0.0202, 0.0437, 0.0117), "b": (0.0388, 0.0297, 0.0684, 0.0192),
                  "c": (0.0139, 0.00887, 0.0176, 0.0133)}


def build_model(truth, psf, shape):
    """``PSFConvolvedModel`` of the Sersic components at the starting guesses, with bounds."""
    from galfitax import PSFConvolvedModel, Sersic2D

    fit = truth["fit"]
    bounds = fit["bounds"]
    parts = []
    for comp in fit["components"]:
        init = comp["init"]
        x0, y0 = init["x"] - 1.0, init["y"] - 1.0
        flux = 10.0 ** (-0.4 * (init["mag"] - ZEROPOINT))
        m = Sersic2D(flux=flux, r_eff=init["r_e"], n=init["n"], x_0=x0, y_0=y0,
                     ellip=1.0 - init["q"], theta=math.radians(init["pa"] + 90.0))
        d = bounds["dxy_from_init"]
        m.x_0.bounds, m.y_0.bounds = (x0 - d, x0 + d), (y0 - d, y0 + d)
        m.n.bounds = tuple(bounds["n"])
        m.ellip.bounds = (1.0 - bounds["q"][1], 1.0 - bounds["q"][0])
        m.r_eff.bounds = tuple(bounds["r_e"])
        m.flux.bounds = (0.0, 1e4 * flux)
        m.n.fixed = "n" in comp["fixed"]
        parts.append(m)
    model = parts[0]
    for part in parts[1:]:
        model = model + part
    if len(parts) > 1:
        for k, comp in enumerate(fit["components"]):
            t = comp["tie_center_to"]
            if t is not None:
                model.tied[f"x_0_{k}"] = lambda mm, t=t: getattr(mm, f"x_0_{t}").value
                model.tied[f"y_0_{k}"] = lambda mm, t=t: getattr(mm, f"y_0_{t}").value
    return PSFConvolvedModel(model, psf, pixel_response="galfit")


def _suffix(k, n_comp):
    return f"_{k}" if n_comp > 1 else ""


def recovered(fitted, n_comp):
    """Per component: values and 1-sigma of mag, r_e, n, q, pa (truth.json convention)."""
    out = []
    for k in range(n_comp):
        s = _suffix(k, n_comp)

        def value(name):
            return float(getattr(fitted, name + s).value)

        def std(name):
            try:
                v = fitted.stds[name + s]
            except ValueError:  # fixed or tied: not in the covariance
                return math.nan
            return math.nan if v is None else float(v)

        flux = value("flux")
        pa = (math.degrees(value("theta")) - 90.0 + 90.0) % 180.0 - 90.0
        out.append({
            "x": value("x_0") + 1, "y": value("y_0") + 1,
            "mag": ZEROPOINT - 2.5 * math.log10(flux), "r_e": value("r_eff"), "n": value("n"),
            "q": 1 - value("ellip"), "pa": pa,
            "s_mag": 2.5 / math.log(10) * std("flux") / flux, "s_r_e": std("r_eff"),
            "s_n": std("n"), "s_q": std("ellip"), "s_pa": math.degrees(std("theta")),
        })
    return out


def component_snr(truth):
    snr = truth["snr"]
    n_comp = len(truth["components"])
    if "target_per_component" in snr:
        return list(snr["target_per_component"])
    return [snr["target_total"]] * n_comp


def fit_case(folder, repeat=True):
    from galfitax import LevMarFitter

    truth = json.loads((folder / "truth.json").read_text())
    data = fits.getdata(folder / "data.fits").astype(float)
    sigma = fits.getdata(folder / "sigma.fits").astype(float)
    mask = fits.getdata(folder / "mask.fits") > 0
    psf = fits.getdata(folder / "psf.fits").astype(float)
    model = build_model(truth, psf, data.shape)
    fitter = LevMarFitter()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = fitter.fit_image(model, data, sigma=sigma, mask=mask)
    t_first = time.perf_counter() - t0
    t_again = math.nan
    if repeat:  # the same fit again: no compilation
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitter.fit_image(model, data, sigma=sigma, mask=mask)
        t_again = time.perf_counter() - t0
    info = fitter.fit_info
    comps = recovered(fitted, len(truth["components"]))
    rows = []
    for k, (true, got, snr) in enumerate(zip(truth["components"], comps, component_snr(truth))):
        dpa = (got["pa"] - true["pa"] + 90.0) % 180.0 - 90.0
        rows.append({
            "case": folder.name, "family": truth["family"], "component": k, "snr": snr,
            "target_snr": truth["snr"].get("target_total"),
            "n_fixed": "n" in truth["fit"]["components"][k]["fixed"],
            "true_q": true["q"],
            "dmag": got["mag"] - true["mag"], "rel_r_e": got["r_e"] / true["r_e"] - 1,
            "rel_n": got["n"] / true["n"] - 1, "rel_q": got["q"] / true["q"] - 1,
            "dpa": dpa,
            "pull_mag": (got["mag"] - true["mag"]) / got["s_mag"],
            "pull_r_e": (got["r_e"] - true["r_e"]) / got["s_r_e"],
            "pull_n": (got["n"] - true["n"]) / got["s_n"],
            "pull_q": (got["q"] - true["q"]) / got["s_q"],
            "pull_pa": dpa / got["s_pa"],
        })
    case = {"case": folder.name, "converged": bool(info["converged"]), "status": info["message"],
            "chi2_nu": info["chi2_nu"], "n_iter": info["n_iter"], "nfev": info["nfev"],
            "t_first": t_first, "t_fit": t_again, "at_bounds": info["at_bounds"]}
    return case, rows


def robust_std(values):
    values = np.asarray(values)
    return 1.4826 * np.median(np.abs(values - np.median(values)))


def summarize(cases, rows):
    n_conv = sum(c["converged"] for c in cases)
    print(f"\nconverged: {n_conv}/{len(cases)} ({100.0 * n_conv / max(len(cases), 1):.1f}%)")
    t_first = np.median([c["t_first"] for c in cases])
    t_again = np.nanmedian([c["t_fit"] for c in cases])
    print(f"median t_fit (first call, with compilation) {t_first:.2f} s; repeated call "
          f"{t_again:.2f} s; "
          f"median nfev {np.median([c['nfev'] for c in cases]):.0f}; "
          f"median chi2_nu {np.median([c['chi2_nu'] for c in cases]):.4f}")
    print("\n| group | n | med abs dmag | med abs rel r_e | med abs rel n | med abs rel q |"
          " pyimfit (same columns) |")
    print("|---|---|---|---|---|---|---|")
    groups = []
    for fam in sorted({r["family"] for r in rows}):
        groups.append((fam, [r for r in rows if r["family"] == fam], PYIMFIT_FAMILY.get(fam)))
        if fam == "a":
            for snr in sorted({r["target_snr"] for r in rows if r["family"] == "a"}):
                groups.append((f"a snr={snr:g}", [r for r in rows if r["family"] == "a"
                                                  and r["target_snr"] == snr],
                               PYIMFIT_A.get(int(snr))))
    for name, group, peer in groups:
        free_n = [abs(r["rel_n"]) for r in group if not r["n_fixed"]]
        cells = [np.median([abs(r[k]) for r in group]) for k in ("dmag", "rel_r_e")]
        cells += [np.median(free_n) if free_n else np.nan,
                  np.median([abs(r["rel_q"]) for r in group])]
        peer_txt = " / ".join(f"{v:.3g}" for v in peer) if peer else "-"
        print(f"| {name} | {len(group)} | " + " | ".join(f"{v:.3g}" for v in cells)
              + f" | {peer_txt} |")
    high = [r for r in rows if r["snr"] >= 50]
    print(f"\npulls (fitted - true) / sigma, components with S/N >= 50 (n = {len(high)}; "
          "parameters on a bound have no sigma and are left out):")
    print("| param | n | median | robust std | target |")
    print("|---|---|---|---|---|")
    for p in ("mag", "r_e", "n", "q", "pa"):
        # PA only where it is defined well enough (true q <= 0.85, as in PEERS.md)
        vals = [r[f"pull_{p}"] for r in high if np.isfinite(r[f"pull_{p}"])
                and (p != "pa" or r["true_q"] <= 0.85)]
        if vals:
            print(f"| {p} | {len(vals)} | {np.median(vals):+.3f} | {robust_std(vals):.3f} |"
                  " abs(median) < 0.3, 0.8 < std < 1.3 |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", type=Path)
    parser.add_argument("--families", default="a,b,c")
    parser.add_argument("--every", type=int, default=1, help="fit every k-th case per family")
    parser.add_argument("--only", default=None, help="substring of case names to keep")
    parser.add_argument("--out", type=Path, default=None, help="write all records as JSON")
    parser.add_argument("--resume", type=Path, nargs="*", default=[],
                        help="JSON files of earlier runs: their cases are kept, not refitted")
    parser.add_argument("--no-repeat", action="store_true",
                        help="do not time a second (compiled) call of each fit")
    args = parser.parse_args(argv)
    families = args.families.split(",")
    folders = [f for f in sorted(args.cases.iterdir())
               if f.is_dir() and f.name[0] in families and (args.only or "") in f.name]
    folders = [f for fam in families
               for f in [g for g in folders if g.name[0] == fam][::args.every]]
    cases, rows = [], []
    for path in args.resume:
        earlier = json.loads(path.read_text())
        cases.extend(earlier["cases"])
        rows.extend(earlier["rows"])
    done = {case["case"] for case in cases}
    for folder in folders:
        if folder.name in done:
            continue
        case, case_rows = fit_case(folder, repeat=not args.no_repeat)
        cases.append(case)
        rows.extend(case_rows)
        r = case_rows[0]
        print(f"{folder.name}: converged={case['converged']} chi2_nu={case['chi2_nu']:.4f} "
              f"nfev={case['nfev']} t={case['t_first']:.1f}/{case['t_fit']:.2f}s "
              f"dmag={r['dmag']:+.4f} rel_r_e={r['rel_r_e']:+.4f} rel_n={r['rel_n']:+.4f} "
              f"pulls mag/r_e/n/q/pa={r['pull_mag']:+.2f}/{r['pull_r_e']:+.2f}/"
              f"{r['pull_n']:+.2f}/{r['pull_q']:+.2f}/{r['pull_pa']:+.2f}", flush=True)
        if args.out:
            args.out.write_text(json.dumps({"cases": cases, "rows": rows}, indent=1))
    summarize(cases, rows)


if __name__ == "__main__":
    main()
