#!/usr/bin/env python
"""galfitax against pyimfit and the astropy approach (PetroFit), side by side, in one run.

    python benchmarks/run.py --quick        # minutes: 64/128 px singles, 100 stamps, cold start
    python benchmarks/run.py                # everything (long on a 2-core machine)
    python benchmarks/run.py --sections single,batch --out /tmp/bench

Cases come from the shared bench generator (``../shared/bench/make_cases.py``,
or ``$GALFITAX_BENCH_DIR``) plus `extra_cases` (512 px single, 64 px stamps,
the 2048 px five-component memory case), written under ``--out`` (default
``benchmarks/out``, git-ignored). Fit set-up for every fitter: the starting
guesses of ``truth.json["fit"]``, the bench bounds, the case's PSF, sigma
image and mask (see ``fitters.py``). The peers run exactly as the bench
harness runs them (``run_peers.run_pyimfit_problem``: imfit's LM on all
cores; ``run_peers.run_petrofit_problem``: astropy ``Sersic2D`` models in
PetroFit's ``PSFConvolvedModel2D``, fitted with astropy's ``TRFLSQFitter``,
what an astropy user would otherwise write). ``trf`` additionally times
astropy's ``TRFLSQFitter`` on the galfitax model with its analytic
``fit_deriv``.

Timings: galfitax is run once to compile, then ``--repeats`` more times; the
table shows the median warm wall time per fit (the first call is listed
separately). The peers are timed once per case. Ratios are "peer time /
galfitax warm time" (> 1: galfitax faster). A timing means something only if
the fitters reach the same minimum: ``dchi2`` is the largest relative
difference of chi2 from the best of the fitters (must be < 0.5%), ``dpar`` the
largest difference of the fitted parameters from pyimfit's (mag, relative
r_e, n, q; position in px).
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _shared import mc, run_peers as rp  # noqa: E402
import extra_cases  # noqa: E402
import fitters  # noqa: E402
from galfitax._jax.program_store import available as program_store_available  # noqa: E402

SECTIONS = ("single", "bulge_disk", "three", "batch", "frame", "cold", "memory")
CHI2_TOLERANCE = 0.005


# ---------------------------------------------------------------------------- cases
def ensure_cases(out, families):
    """Generate the shared-bench families that are missing under ``out``; return the manifest."""
    path = os.path.join(out, "manifest.json")
    have = {}
    if os.path.isfile(path):
        with open(path) as f:
            have = json.load(f).get("families", {})
    missing = [fam for fam in families if fam not in have]
    if missing:
        print(f"generating bench families {','.join(missing)} in {out} ...", flush=True)
        mc.main(["--out", out, "--families", ",".join(missing)])
        with open(path) as f:
            have = json.load(f)["families"]
    return have


def pick_family_a(cases_dir, manifest, size, count):
    """Family-a cases of one size at S/N 200, n spread (deterministic)."""
    ids = [c for c in manifest["a"] if f"_{size}px_" in c and c.endswith("snr200")]
    step = max(1, len(ids) // count)
    return [os.path.join(cases_dir, c) for c in ids[::step][:count]]


# ---------------------------------------------------------------------------- one problem
def agreement(problem, results):
    """``dchi2`` (max relative chi2 excess over the best) and ``dpar`` vs pyimfit, per fitter."""
    nfree = rp.n_free_params(problem["fit"])
    chi2 = {name: rp.chi2_nu(problem["data"], r["model"], problem["sigma"], problem["mask"],
                             nfree)[0] for name, r in results.items()}
    best = min(chi2.values())
    out = {name: {"chi2_nu": value, "dchi2": value / best - 1.0} for name, value in chi2.items()}
    ref = results.get("pyimfit")
    for name, r in results.items():
        if ref is None or name == "pyimfit":
            continue
        worst = 0.0
        for a, b in zip(r["components"], ref["components"]):
            worst = max(worst, abs(a["mag"] - b["mag"]), abs(a["r_e"] / b["r_e"] - 1.0),
                        abs(a["n"] / b["n"] - 1.0), abs(a["q"] / b["q"] - 1.0),
                        abs(a["x"] - b["x"]), abs(a["y"] - b["y"]))
        out[name]["dpar"] = worst
    return out


def run_case(case_dir, *, repeats, threads, peers, direct=False):
    """One case, every fitter; ``direct``: galfitax also without the binned first fit."""
    truth, data, sigma, psf, mask = rp.load_case(case_dir)
    problem = rp.problems_for_case(truth, data, sigma, mask)[0]
    results = {"galfitax": fitters.fit_galfitax(problem, psf, repeats=repeats)}
    if "pyimfit" in peers:
        results["pyimfit"] = rp.run_pyimfit_problem(problem, psf, case_dir, threads)
    if "petrofit" in peers:
        results["petrofit"] = rp.run_petrofit_problem(problem, psf)
    if "trf" in peers:
        results["trf"] = fitters.fit_trf(problem, psf, model=fitters.build_model(
            problem, psf, data.shape))
    stats = agreement(problem, results)
    row = {"case": truth["case_id"], "shape": list(data.shape)}
    for name, r in results.items():
        row[name] = dict(t_fit=r["t_fit"], nfev=r["nfev"], **stats[name])
    row["galfitax"]["t_first"] = results["galfitax"]["t_first"]
    row["galfitax"]["coarse_nfev"] = results["galfitax"]["coarse_nfev"]
    print("  %-32s" % row["case"] + "  ".join(
        "%s %.3g s (nfev %s, chi2_nu %.5f)" % (k, row[k]["t_fit"], _nfev_text(row[k]),
                                               row[k]["chi2_nu"]) for k in results), flush=True)
    if direct and row["galfitax"]["coarse_nfev"]:
        # the same fit at full resolution only: the per-evaluation cost of the scaling table
        plain = fitters.fit_galfitax(problem, psf, repeats=repeats, coarse_start=False)
        row["galfitax_direct"] = dict(t_fit=plain["t_fit"], nfev=plain["nfev"])
        print("  %-32s  galfitax without the binned first fit %.3g s (nfev %d)"
              % ("", plain["t_fit"], plain["nfev"]), flush=True)
    return row


def _nfev_text(result):
    coarse = result.get("coarse_nfev", 0)
    return "%s + %d binned" % (result["nfev"], coarse) if coarse else str(result["nfev"])


def family_rows(name, case_dirs, **kwargs):
    print(f"{name}:", flush=True)
    return [run_case(d, **kwargs) for d in case_dirs]


# ---------------------------------------------------------------------------- batch, frame
def run_batch(out, count, pyimfit_count, threads, chunk):
    print(f"batch of {count} 64x64 stamps:", flush=True)
    psf, problems = extra_cases.stamp_batch(out, count)
    t_gfx, t_first, fitted, conv = 0.0, 0.0, [], []
    for start in range(0, count, chunk):
        r = fitters.fit_galfitax_batch(problems[start:start + chunk], psf)
        t_first += r["t_first"]
        t_gfx += r["t_fit"]
        fitted += r["fitted"]
        conv += list(r["converged"])
    # for comparison: a loop of warm single fits (one compiled program, reused)
    loop = [fitters.fit_galfitax(p, psf, repeats=0) for p in problems[:pyimfit_count + 1]][1:]
    t_loop = statistics.mean(r["t_fit"] for r in loop) if loop else None
    t_imfit, dchi2 = [], []
    shape = problems[0]["data"].shape
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    for k in range(pyimfit_count):
        p = problems[k]
        r = rp.run_pyimfit_problem(p, psf, None, threads)
        t_imfit.append(r["t_fit"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = np.asarray(fitted[k](x, y))
        c_g = rp.chi2_nu(p["data"], model, p["sigma"], p["mask"], 7)[0]
        c_i = rp.chi2_nu(p["data"], r["model"], p["sigma"], p["mask"], 7)[0]
        dchi2.append(c_g / min(c_g, c_i) - 1.0)
    row = {"count": count, "chunk": chunk, "galfitax_total": t_gfx,
           "galfitax_first_total": t_first, "galfitax_per_fit": t_gfx / count,
           "galfitax_converged": int(np.sum(conv)), "pyimfit_count": pyimfit_count,
           "galfitax_loop_per_fit": t_loop,
           "pyimfit_per_fit": statistics.mean(t_imfit) if t_imfit else None,
           "pyimfit_total_extrapolated": statistics.mean(t_imfit) * count if t_imfit else None,
           "max_dchi2": max(dchi2) if dchi2 else None,
           "n_dchi2_over_tol": int(np.sum(np.array(dchi2) > CHI2_TOLERANCE))}
    print("  galfitax %.3g s for %d (%.3g s/fit, first pass with compile %.3g s); pyimfit "
          "%.3g s/fit on %d (x%d extrapolated)" % (t_gfx, count, row["galfitax_per_fit"], t_first,
                                                   row["pyimfit_per_fit"] or float("nan"),
                                                   pyimfit_count, count), flush=True)
    return row


def _bucket(size):
    return int(32 * np.ceil(size / 32.0))


def run_frame(case_dir, threads, pyimfit_count):
    """Family d: per-object cutouts; galfitax pads each cutout (masked) to a 32-px bucket size."""
    print("1024x1024 frame, 30 per-object cutouts:", flush=True)
    truth, data, sigma, psf, mask = rp.load_case(case_dir)
    problems = rp.problems_for_case(truth, data, sigma, mask)
    padded = []
    for p in problems:
        side = _bucket(max(p["data"].shape))
        q = dict(p)
        ny, nx = p["data"].shape
        q["data"] = np.zeros((side, side))
        q["sigma"] = np.ones((side, side))
        q["mask"] = np.ones((side, side), dtype=np.int16)
        q["data"][:ny, :nx], q["sigma"][:ny, :nx], q["mask"][:ny, :nx] = \
            p["data"], p["sigma"], p["mask"]
        padded.append(q)
    # fit-call times only (as for pyimfit); the first pass compiles one program per bucket
    t_cold = sum(fitters.fit_galfitax(q, psf, repeats=0)["t_fit"] for q in padded)
    warm = [fitters.fit_galfitax(q, psf, repeats=0) for q in padded]
    t_warm = sum(w["t_fit"] for w in warm)
    t_imfit, dchi2 = [], []
    for p, w in zip(problems[:pyimfit_count], warm):
        r = rp.run_pyimfit_problem(p, psf, case_dir, threads)
        t_imfit.append(r["t_fit"])
        ny, nx = p["data"].shape
        c_g = rp.chi2_nu(p["data"], w["model"][:ny, :nx], p["sigma"], p["mask"], 7)[0]
        c_i = rp.chi2_nu(p["data"], r["model"], p["sigma"], p["mask"], 7)[0]
        dchi2.append(c_g / min(c_g, c_i) - 1.0)
    n = len(problems)
    row = {"objects": n, "buckets": sorted({q["data"].shape[0] for q in padded}),
           "galfitax_warm_s": t_warm, "galfitax_with_compile_s": t_cold,
           "galfitax_objects_per_s": n / t_warm,
           "galfitax_objects_per_s_with_compile": n / t_cold,
           "pyimfit_count": len(t_imfit), "pyimfit_s": sum(t_imfit),
           "pyimfit_objects_per_s": len(t_imfit) / sum(t_imfit) if t_imfit else None,
           "max_dchi2": max(dchi2) if dchi2 else None,
           "n_dchi2_over_tol": int(np.sum(np.array(dchi2) > CHI2_TOLERANCE))}
    print("  galfitax %.3g obj/s warm (%.3g with compile); pyimfit %.3g obj/s on %d objects"
          % (row["galfitax_objects_per_s"], row["galfitax_objects_per_s_with_compile"],
             row["pyimfit_objects_per_s"] or float("nan"), len(t_imfit)), flush=True)
    return row


# ---------------------------------------------------------------------------- subprocesses
def run_cold(case_dir):
    """Wall time of ``galfitax fit galfit.feedme`` in a fresh process (a copy of the case)."""
    print("cold start of `galfitax fit`:", flush=True)
    exe = shutil.which("galfitax", path=os.path.dirname(sys.executable)) or "galfitax"
    row = {"case": os.path.basename(case_dir)}
    with tempfile.TemporaryDirectory() as tmp:
        # the galfitax command keeps compiled programs on disk by default: "fresh" turns
        # that off; "cache_fill" and "cache_hit" start from an empty cache folder, filled by
        # the first of them, with traced programs kept too (the fast-start extra); the
        # "compiled_only" pair does the same in another folder without the traced programs
        runs = (("fresh", ["--no-compilation-cache"], "jax-cache", "1"),
                ("cache_fill", [], "jax-cache", "1"), ("cache_hit", [], "jax-cache", "1"),
                ("compiled_only_fill", [], "jax-cache-2", "0"),
                ("compiled_only_hit", [], "jax-cache-2", "0"))
        for label, flags, cache, store in runs:
            work = os.path.join(tmp, label)
            shutil.copytree(case_dir, work)
            env = dict(os.environ, GALFITAX_CACHE_DIR=os.path.join(tmp, cache),
                       GALFITAX_PROGRAM_STORE=store)
            env.pop("JAX_COMPILATION_CACHE_DIR", None)
            t0 = time.perf_counter()
            done = subprocess.run([exe, *flags, "fit", "galfit.feedme"], cwd=work, env=env,
                                  capture_output=True, text=True)
            row[label] = time.perf_counter() - t0
            row[label + "_rc"] = done.returncode
            if done.returncode not in (0, 1):
                print(done.stderr[-2000:])
            print("  %-10s %.2f s (exit %d)" % (label, row[label], done.returncode), flush=True)
    return row


_MEMORY_SCRIPT = r"""
import json, resource, sys, time
sys.path.insert(0, {here!r})
from _shared import run_peers as rp
import fitters
truth, data, sigma, psf, mask = rp.load_case({case!r})
problem = rp.problems_for_case(truth, data, sigma, mask)[0]
model = fitters.build_model(problem, psf, data.shape)
from galfitax import LevMarFitter
t0 = time.perf_counter()
fitter = LevMarFitter()
fitter.fit_image(model, problem["data"], sigma=problem["sigma"], mask=problem["mask"] > 0,
                 maxiter={maxiter})
print(json.dumps({{"seconds": time.perf_counter() - t0, "nfev": fitter.fit_info["nfev"],
                  "maxrss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}}))
"""


def run_memory(case_dir, maxiter):
    """Peak RSS of a fresh process fitting the case (``maxiter`` LM steps; memory does not
    grow with iterations)."""
    print("memory peak:", flush=True)
    script = _MEMORY_SCRIPT.format(here=HERE, case=case_dir, maxiter=maxiter)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr[-3000:])
        return {"case": os.path.basename(case_dir), "error": done.stderr[-500:]}
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row["case"] = os.path.basename(case_dir)
    print("  %s: %.2f GB peak RSS, %.1f s, nfev %d" % (row["case"], row["maxrss_gb"],
                                                     row["seconds"], row["nfev"]), flush=True)
    return row


# ---------------------------------------------------------------------------- table
def _med(rows, fitter, key="t_fit"):
    values = [r[fitter][key] for r in rows if fitter in r]
    return statistics.median(values) if values else float("nan")


def _nfev_cell(rows, fitter):
    """Median evaluations; galfitax's binned first-fit evaluations after a "+"."""
    text = "%.0f" % _med(rows, fitter, "nfev")
    coarse = _med(rows, fitter, "coarse_nfev") if fitter == "galfitax" else 0
    return text + (" + %.0f binned" % coarse if coarse else "")


def _max(rows, fitter, key):
    values = [r[fitter][key] for r in rows if fitter in r and key in r[fitter]]
    return max(values) if values else float("nan")


PEER_LABELS = {"pyimfit": "pyimfit", "petrofit": "PetroFit TRF", "trf": "TRF on galfitax model"}


def table(results):
    families = results.get("families", {})
    peers = [p for p in PEER_LABELS if any(p in r for rows in families.values() for r in rows)]
    fitters_ = ["galfitax"] + peers
    head = (["family", "cases", "galfitax warm [s]", "galfitax 1st [s]"]
            + [f"{PEER_LABELS[p]} [s]" for p in peers]
            + [f"{PEER_LABELS[p]} / galfitax" for p in peers]
            + ["faster of pyimfit, PetroFit / galfitax", "max dchi2 " + " / ".join(fitters_),
               "max dpar vs pyimfit", "nfev " + " / ".join(fitters_)])
    lines = ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, rows in families.items():
        g = _med(rows, "galfitax")
        times = [_med(rows, p) for p in peers]
        # the bar: the faster of imfit and the astropy user's approach (PetroFit);
        # TRF on the galfitax model runs galfitax's own evaluate/fit_deriv
        fastest = min((t for p, t in zip(peers, times) if t == t and p != "trf"),
                      default=float("nan"))
        cells = [name, str(len(rows)), "%.3g" % g, "%.3g" % _med(rows, "galfitax", "t_first")]
        cells += ["%.3g" % t for t in times] + ["%.2f" % (t / g) for t in times]
        cells += ["%.2f" % (fastest / g),
                  " / ".join("%.2g" % _max(rows, f, "dchi2") for f in fitters_),
                  ", ".join("%s %.2g" % (f, _max(rows, f, "dpar")) for f in fitters_
                            if f != "pyimfit"),
                  " / ".join(_nfev_cell(rows, f) for f in fitters_)]
        lines.append("| " + " | ".join(cells) + " |")
    singles = [(r["shape"][0], r) for name, rows in results.get("families", {}).items()
               if name.startswith("single") for r in rows]
    if singles:
        lines += ["", "Scaling (galfitax warm time per model+Jacobian evaluation, single Sersic):",
                  "", "| N | t/nfev [ms] | (t/nfev) / (N^2 log2 N) relative to the smallest N |",
                  "|---|---|---|"]
        per = {}
        for n, r in singles:
            # full-resolution evaluations only (a fit that starts on binned pixels was
            # also timed without that stage)
            plain = r.get("galfitax_direct", r["galfitax"])
            per.setdefault(n, []).append(plain["t_fit"] / plain["nfev"])
        base = None
        for n in sorted(per):
            t = statistics.median(per[n])
            norm = t / (n * n * np.log2(n))
            base = norm if base is None else base
            lines.append("| %d | %.2f | %.2f |" % (n, 1e3 * t, norm / base))
    b = results.get("batch")
    if b:
        lines += ["", "Batch of %d 64x64 stamps: galfitax fit_batch (one call; default on a CPU: "
                  "one compiled fit per stamp on as many threads as cores) %.3g s total = "
                  "%.3g s/fit (first call incl. compile %.3g s); a loop of warm fit_image calls "
                  "%.3g s/fit; pyimfit loop %.3g s/fit (measured on %d, x%d extrapolated: "
                  "%.3g s). Throughput ratio %.1fx; max dchi2 %.2g (%d over 0.5%%); galfitax "
                  "converged %d/%d." % (
                      b["count"], b["galfitax_total"], b["galfitax_per_fit"],
                      b["galfitax_first_total"], b.get("galfitax_loop_per_fit") or float("nan"),
                      b["pyimfit_per_fit"], b["pyimfit_count"],
                      b["count"], b["pyimfit_total_extrapolated"],
                      b["pyimfit_per_fit"] / b["galfitax_per_fit"], b["max_dchi2"],
                      b["n_dchi2_over_tol"], b["galfitax_converged"], b["count"])]
    f = results.get("frame")
    if f:
        lines += ["", "1024x1024 frame, %d cutouts (galfitax pads to %s px buckets): galfitax "
                  "%.3g obj/s warm, %.3g obj/s including compilation; pyimfit %.3g obj/s (%d "
                  "objects). Ratio %.1fx warm; max dchi2 %.2g (%d over 0.5%%)." % (
                      f["objects"], f["buckets"], f["galfitax_objects_per_s"],
                      f["galfitax_objects_per_s_with_compile"], f["pyimfit_objects_per_s"],
                      f["pyimfit_count"], f["galfitax_objects_per_s"] / f["pyimfit_objects_per_s"],
                      f["max_dchi2"], f["n_dchi2_over_tol"])]
    c = results.get("cold")
    if c:
        lines += ["", "Cold start, `galfitax fit galfit.feedme` (%s), new process each: without "
                  "the compilation cache %.1f s; with it (default): first run %.1f s, later "
                  "runs %.1f s%s; compiled programs only (GALFITAX_PROGRAM_STORE=0): %.1f s, "
                  "then %.1f s." % (
                      c["case"], c["fresh"], c["cache_fill"], c["cache_hit"],
                      "" if program_store_available() else
                      " (flatbuffers missing: no traced programs kept)",
                      c["compiled_only_fill"], c["compiled_only_hit"])]
    m = results.get("memory")
    if m and "maxrss_gb" in m:
        lines += ["", "Memory, %s: %.2f GB peak RSS (%d evaluations, %.0f s)." % (
            m["case"], m["maxrss_gb"], m["nfev"], m["seconds"])]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small subset (a few minutes)")
    ap.add_argument("--out", default=os.path.join(HERE, "out"), help="cases and results folder")
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help="comma-separated subset of " + ",".join(SECTIONS))
    ap.add_argument("--repeats", type=int, default=3, help="warm galfitax repeats per case")
    ap.add_argument("--threads", type=int, default=0, help="pyimfit threads (0 = all cores)")
    ap.add_argument("--peers", default="pyimfit,petrofit,trf",
                    help="comma-separated subset of pyimfit,petrofit,trf (trf: astropy's "
                    "TRFLSQFitter on the galfitax model)")
    ap.add_argument("--per-family", type=int, default=2, help="cases per family (full run)")
    ap.add_argument("--stamps", type=int, default=1000, help="stamps in the batch (full run)")
    ap.add_argument("--pyimfit-subset", type=int, default=30,
                    help="stamps / frame objects pyimfit fits (the rest is extrapolated)")
    ap.add_argument("--memory-size", type=int, default=2048,
                    help="image side of the five-component memory case")
    args = ap.parse_args(argv)
    sections = set(args.sections.split(","))
    peers = set(args.peers.split(","))
    cases_dir = os.path.join(args.out, "cases")
    os.makedirs(cases_dir, exist_ok=True)
    families = ["a"] if args.quick else ["a", "b", "c", "d"]
    manifest = ensure_cases(cases_dir, families)
    kw = dict(repeats=args.repeats, threads=args.threads, peers=peers)
    results = {"families": {}, "machine": f"{platform.node()} {platform.machine()}, "
               f"{os.cpu_count()} cpus", "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if "single" in sections:
        sizes = (64, 128) if args.quick else (64, 128, 256, 512)
        for size in sizes:
            if size == 512:
                dirs = [extra_cases.sersic_case(cases_dir, 512)]
            else:
                count = 1 if args.quick else args.per_family
                dirs = pick_family_a(cases_dir, manifest, size, count)
            results["families"][f"single {size}px"] = family_rows(f"single {size}", dirs,
                                                                  direct=True, **kw)
    if "bulge_disk" in sections and not args.quick:
        dirs = [os.path.join(cases_dir, c) for c in manifest["b"]
                if "_256px_" in c][:args.per_family]
        results["families"]["bulge+disk 256px"] = family_rows("bulge+disk 256", dirs, **kw)
    if "three" in sections and not args.quick:
        dirs = [os.path.join(cases_dir, c) for c in manifest["c"]][:args.per_family]
        results["families"]["3 galaxies 200px"] = family_rows("3 galaxies 200", dirs, **kw)
    if "batch" in sections:
        count = 100 if args.quick else args.stamps
        results["batch"] = run_batch(args.out, count, 5 if args.quick else args.pyimfit_subset,
                                     args.threads, chunk=count)
    if "frame" in sections and not args.quick:
        results["frame"] = run_frame(os.path.join(cases_dir, manifest["d"][0]), args.threads,
                                     pyimfit_count=args.pyimfit_subset)
    if "cold" in sections:
        results["cold"] = run_cold(pick_family_a(cases_dir, manifest, 128, 1)[0])
    if "memory" in sections and not args.quick:
        case = extra_cases.sersic_case(cases_dir, args.memory_size, ncomp=5,
                                       index=args.memory_size)
        results["memory"] = run_memory(case, maxiter=1)
    text = table(results)
    print(text)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=float)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(f"{results['date']}, {results['machine']}\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
