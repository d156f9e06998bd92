"""Joint multiband (GALFITM-style) fits vs independent single-band fits on bench family e.

Each family-e case is one Sersic galaxy in 5 bands (g r i z y, band index
k = 0..4) of 128 x 128 pixels with per-band S/N 10-50, r_e and n linear in
k, shared centre / q / PA and a different PSF per band. For every case this
script fits

* jointly: `galfitax.multiband.MultiBandFitter` with r_eff and n linear in
  wavelength (2 Chebyshev coefficients), flux free per band, centre and
  shape constant (wavelength = band index, the relation's variable);
* independently: `galfitax.LevMarFitter` on each band alone,

from the bench's starting guesses and bounds, with the bench's PSF used as
GALFIT does (``pixel_response="galfit"``, the model the images were made
with). It prints per band the RMS error of r_e (relative) and n over all
cases, their ratio, and the pull statistics (error / reported sigma), then
the run time of a warm joint 5-band fit vs a warm single-band fit.

Usage::

    python benchmarks/multiband.py --seeds 1,2,3 [--work /tmp/mb_bench] [--ncase 3]

Cases are generated with ``../shared/bench/make_cases.py --families e``
(path with ``--make-cases``) into ``<work>/seed<N>``.
"""

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

from galfitax import LevMarFitter, PSFConvolvedModel, Sersic2D
from galfitax.exceptions import ConvergenceWarning
from galfitax.multiband import Band, MultiBandFitter, MultiBandModel

ZEROPOINT = 30.0
DEFAULT_MAKE_CASES = Path(__file__).resolve().parents[2] / "shared" / "bench" / "make_cases.py"


def generate(seed, work, make_cases):
    out = Path(work) / f"seed{seed}"
    if not (out / "manifest.json").exists():
        subprocess.run([sys.executable, str(make_cases), "--out", str(out), "--families", "e",
                        "--seed", str(seed)], check=True, capture_output=True)
    return sorted(p for p in out.iterdir() if p.is_dir() and (p / "truth.json").exists())


def start_model(init, bounds_size):
    """Sersic2D from bench initial guesses (1-based x, y; PA from +y; q; mag) with bounds."""
    model = Sersic2D(flux=10 ** (-0.4 * (init["mag"] - ZEROPOINT)), r_eff=init["r_e"],
                     n=init["n"], x_0=init["x"] - 1.0, y_0=init["y"] - 1.0,
                     ellip=1.0 - init["q"], theta=np.radians(init["pa"] + 90.0))
    model.x_0.bounds = (model.x_0.value - 10, model.x_0.value + 10)
    model.y_0.bounds = (model.y_0.value - 10, model.y_0.value + 10)
    model.n.bounds = (0.3, 10.0)
    model.r_eff.bounds = (0.1, 4.0 * bounds_size)
    model.ellip.bounds = (0.0, 0.95)
    return model


def load_case(folder):
    truth = json.loads((folder / "truth.json").read_text())
    bands = []
    for entry in truth["per_band"]:
        sub = folder / entry["folder"]
        data = fits.getdata(sub / "data.fits").astype(float)
        sigma = fits.getdata(sub / "sigma.fits").astype(float)
        mask = fits.getdata(sub / "mask.fits") != 0
        psf = fits.getdata(sub / "psf.fits").astype(float)
        bands.append(Band(data, float(entry["band_index"]), sigma=sigma, mask=mask, psf=psf,
                          pixel_response="galfit", zeropoint=ZEROPOINT, name=entry["band"]))
    return truth, bands


def fit_joint(truth, bands):
    inits = [entry["init"] for entry in truth["per_band"]]
    size = max(bands[0].shape)
    template = start_model(inits[0], size)
    values = {"flux": [10 ** (-0.4 * (i["mag"] - ZEROPOINT)) for i in inits],
              "r_eff": [i["r_e"] for i in inits], "n": [i["n"] for i in inits]}
    model = MultiBandModel(template, bands=bands, values=values,
                           freedom={"r_eff": 2, "n": 2, "flux": "band"})
    fitter = MultiBandFitter()
    t0 = time.perf_counter()
    fitted = fitter(model, bands)
    elapsed = time.perf_counter() - t0
    table = fitted.band_table()
    return (np.array(table["r_eff"]), np.array(table["r_eff_std"]), np.array(table["n"]),
            np.array(table["n_std"]), elapsed, fitter.fit_info, (model, bands))


def fit_single(truth, bands):
    r, rs, n, ns, times, infos = [], [], [], [], [], []
    for entry, band in zip(truth["per_band"], bands):  # zip: the first len(bands) bands
        model = PSFConvolvedModel(start_model(entry["init"], max(band.shape)), band.psf,
                                  pixel_response="galfit")
        fitter = LevMarFitter()
        t0 = time.perf_counter()
        fitted = fitter.fit_image(model, band.data, sigma=band.sigma, mask=band.mask)
        times.append(time.perf_counter() - t0)
        stds = dict(zip(fitted.stds.param_names, fitted.stds.stds))
        r.append(fitted.r_eff.value)
        rs.append(stds.get("r_eff", np.nan) or np.nan)
        n.append(fitted.n.value)
        ns.append(stds.get("n", np.nan) or np.nan)
        infos.append(fitter.fit_info)
    return (np.array(r), np.array(rs), np.array(n), np.array(ns), times, infos,
            (model, band))


def _encode(row):
    return json.dumps(row, default=lambda a: np.asarray(a).tolist())


def _decode(line):
    row = json.loads(line)
    for key in ("true_r", "true_n"):
        row[key] = np.asarray(row[key])
    for key in ("joint", "single"):
        row[key] = tuple(np.asarray(v) for v in row[key])
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--work", default="/tmp/mb_bench")
    parser.add_argument("--make-cases", default=str(DEFAULT_MAKE_CASES))
    parser.add_argument("--results", default=None,
                        help="JSON-lines file of per-case results (default <work>/results.jsonl); "
                             "cases already in it are not refitted")
    parser.add_argument("--report-only", action="store_true",
                        help="print the table from --results without fitting")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--timing-only", metavar="CASE_DIR",
                        help="only time warm joint vs single-band fits of this case folder")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    if args.timing_only:
        truth, bands = load_case(Path(args.timing_only))
        joint_setup = fit_joint(truth, bands)[-1]
        single_setup = fit_single(truth, bands[:1])[-1]
        timing(joint_setup, single_setup, bands)
        return
    results = Path(args.results or Path(args.work) / "results.jsonl")
    results.parent.mkdir(parents=True, exist_ok=True)
    rows = [_decode(line) for line in results.read_text().splitlines()] \
        if results.exists() else []
    done = {row["case"] for row in rows}
    last = None
    for seed in ([] if args.report_only else [int(s) for s in args.seeds.split(",")]):
        for folder in generate(seed, args.work, args.make_cases):
            case = f"seed{seed}/{folder.name}"
            if case in done:
                continue
            truth, bands = load_case(folder)
            true_r = np.array([e["truth"]["r_e"] for e in truth["per_band"]])
            true_n = np.array([e["truth"]["n"] for e in truth["per_band"]])
            jr, jrs, jn, jns, jt, jinfo, joint_setup = fit_joint(truth, bands)
            sr, srs, sn, sns, st, sinfos, single_setup = fit_single(truth, bands)
            last = (joint_setup, single_setup, bands)
            row = dict(case=case, true_r=true_r, true_n=true_n, joint=(jr, jrs, jn, jns),
                       single=(sr, srs, sn, sns), joint_converged=jinfo["converged"],
                       joint_chi2_nu=jinfo["chi2_nu"],
                       single_converged=[i["converged"] for i in sinfos],
                       joint_time=jt, single_times=st)
            rows.append(row)
            with results.open("a") as handle:
                handle.write(_encode(row) + "\n")
            print(f"{case}: joint {jt:.1f} s ({jinfo['n_iter']} it, chi2_nu "
                  f"{jinfo['chi2_nu']:.3f}), single {sum(st):.1f} s; joint r_e {np.round(jr, 2)} "
                  f"n {np.round(jn, 2)}; single r_e {np.round(sr, 2)} n {np.round(sn, 2)}; truth "
                  f"r_e {np.round(true_r, 2)} n {np.round(true_n, 2)}", flush=True)
    report(rows)
    if last is not None and not args.no_timing:
        timing(*last)


def _stats(rows, kind, which):
    index = {"r": (0, 1), "n": (2, 3)}[which]
    err, pull = [], []
    for row in rows:
        value, std = row[kind][index[0]], row[kind][index[1]]
        true = row["true_r"] if which == "r" else row["true_n"]
        e = (value / true - 1.0) if which == "r" else (value - true)
        err.append(e)
        pull.append((value - true) / std)
    return np.array(err), np.array(pull)


def report(rows):
    bands = "g r i z y".split()
    print(f"\n{len(rows)} cases x 5 bands. RMS error per band (r_e relative, n absolute); "
          "pulls = (fit - truth) / sigma")
    print("| quantity | band | RMS joint | RMS single | single/joint | pull std joint | "
          "pull std single | median abs pull joint | median abs pull single |")
    print("|---|---|---|---|---|---|---|---|---|")
    for which in ("r", "n"):
        ej, pj = _stats(rows, "joint", which)
        es, ps = _stats(rows, "single", which)
        for b, band in enumerate(bands):
            rms_j = np.sqrt(np.mean(ej[:, b] ** 2))
            rms_s = np.sqrt(np.mean(es[:, b] ** 2))
            print(f"| {'r_e' if which == 'r' else 'n'} | {band} | {rms_j:.4f} | {rms_s:.4f} | "
                  f"{rms_s / rms_j:.2f} | {np.nanstd(pj[:, b]):.2f} | {np.nanstd(ps[:, b]):.2f} | "
                  f"{np.nanmedian(np.abs(pj[:, b])):.2f} | {np.nanmedian(np.abs(ps[:, b])):.2f} |")
    n_joint = sum(r["joint_converged"] for r in rows)
    n_single = sum(sum(r["single_converged"]) for r in rows)
    print(f"converged: joint {n_joint}/{len(rows)}, single {n_single}/{5 * len(rows)}")


def timing(joint_setup, single_setup, bands, repeats=3):
    model, bands = joint_setup
    single_model, band = single_setup
    fitter = MultiBandFitter()
    joint = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fitter(model, bands)
        joint.append(time.perf_counter() - t0)
    single = []
    single_fitter = LevMarFitter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        single_fitter.fit_image(single_model, band.data, sigma=band.sigma, mask=band.mask)
        single.append(time.perf_counter() - t0)
    print(f"\nwarm fit time (min of {repeats}): joint 5 bands 128x128 {min(joint):.2f} s "
          f"({fitter.fit_info['n_iter']} iterations, {fitter.fit_info['nfev']} evaluations); "
          f"single band {min(single):.2f} s ({single_fitter.fit_info['n_iter']} iterations, "
          f"{single_fitter.fit_info['nfev']} evaluations); ratio {min(joint) / min(single):.2f}")


if __name__ == "__main__":
    main()
