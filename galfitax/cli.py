"""The ``galfitax`` command line: argument parsing only; the work is in `galfitax.io`.

Commands
--------
``galfitax fit galfit.feedme [more.feedme ...]``
    Run GALFIT input files (paths inside resolve relative to each feedme's
    folder; outputs go where its ``B)`` line says). Several files run in one
    process and reuse compiled code.
``galfitax fit --imfit config.dat image.fits [--psf ...] [--mask ...] [--noise ...]``
    Run an imfit config with imfit's option names and meanings.
``galfitax demo [--output-dir DIR]``
    Fit the example HST galaxy shipped with galfitax and write every output.

Compiled programs are cached on disk between runs
(`galfitax.compilation_cache`; ``--no-compilation-cache`` turns it off).

Exit codes: 0 success, 1 a fit did not converge, 2 bad input (one-line
message on stderr naming the problem). In a batch, a file with bad input is
reported and the others still run; the exit code is then 2.
"""

import argparse
import gc
import os
import sys
import threading
import warnings
from pathlib import Path

__all__ = ["EXIT_BAD_INPUT", "EXIT_NOT_CONVERGED", "EXIT_OK", "console_main", "main", "script_main"]

EXIT_OK = 0
EXIT_NOT_CONVERGED = 1
EXIT_BAD_INPUT = 2


class _Progress:
    """A spinner with elapsed time, shown only if the work lasts more than a second."""

    def __init__(self, label, quiet):
        self.label = label
        self.quiet = quiet
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        if not self.quiet:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self):
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover - tqdm is an optional extra
            return
        if self._stop.wait(1.0):
            return
        with tqdm(desc=self.label, bar_format="{desc}: {elapsed}", file=sys.stderr,
                  leave=False, disable=None) as bar:
            while not self._stop.wait(0.25):
                bar.refresh()

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _parser():
    parser = argparse.ArgumentParser(
        prog="galfitax", description="Fit 2-D galaxy light profiles (GALFIT/imfit compatible).",
        epilog="Exit codes: 0 success, 1 a fit did not converge, 2 bad input. "
               "Compiled programs are cached in ~/.cache/galfitax/jax (or $GALFITAX_CACHE_DIR); "
               "--no-compilation-cache turns that off.")
    parser.add_argument("--no-compilation-cache", action="store_true",
                        help="do not keep compiled programs on disk between runs")
    sub = parser.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("fit", help="run GALFIT feedme files or an imfit config",
                         description="Run GALFIT input files, or an imfit config with --imfit.")
    fit.add_argument("files", nargs="+", metavar="FILE",
                     help="feedme files; with --imfit: the image to fit")
    fit.add_argument("--imfit", metavar="CONFIG", help="imfit config file")
    fit.add_argument("--psf", help="PSF image (imfit mode)")
    fit.add_argument("--mask", help="mask image, non-zero = bad (imfit mode)")
    fit.add_argument("--noise", help="sigma (or variance) image (imfit mode)")
    fit.add_argument("--errors-are-variances", action="store_true",
                     help="--noise holds variances, not sigmas")
    fit.add_argument("--gain", type=float, help="e-/ADU for data-based errors")
    fit.add_argument("--readnoise", type=float, help="read noise (e-)")
    fit.add_argument("--sky", type=float, help="original sky level already subtracted (ADU)")
    fit.add_argument("--ncombine", type=float, help="number of averaged exposures")
    fit.add_argument("--zeropoint", type=float, default=0.0,
                     help="magnitude zeropoint for the outputs (imfit mode)")
    fit.add_argument("--output", help="imgblock to write (imfit mode)")
    fit.add_argument("--figure", action="store_true", help="also write a PNG figure")
    _common(fit)
    demo = sub.add_parser("demo", help="fit the example galaxy shipped with galfitax")
    demo.add_argument("--output-dir", default="galfitax-demo", help="folder for the outputs")
    _common(demo)
    return parser


def _common(parser):
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--quiet", action="store_true", help="print errors only")


def _say(args, text):
    if not args.quiet:
        print(text)


def _report(args, label, run):
    info = run.fit_info
    if info:
        _say(args, f"{label}: chi2_nu = {float(info.get('chi2_nu', float('nan'))):.4f}, "
                   f"{info.get('n_iter', '?')} iterations, "
                   f"{'converged' if run.converged else 'NOT converged'}")
    for kind, path in run.outputs.items():
        _say(args, f"  {kind}: {path}")


def _fit_feedmes(args):
    from galfitax.io.galfitm import fit_galfitm, is_galfitm_feedme
    from galfitax.io.run import fit_feedme

    from galfitax.exceptions import GalfitaxError

    status = EXIT_OK
    for name in args.files:
        try:
            with _Progress(f"fitting {name}", args.quiet):
                fit = fit_galfitm if is_galfitm_feedme(name) else fit_feedme  # multiband
                run = fit(name, overwrite=args.overwrite, figure=args.figure)
        except (GalfitaxError, OSError) as exc:
            if len(args.files) == 1:
                raise
            _error(exc)  # go on with the other files of the batch
            status = EXIT_BAD_INPUT
            continue
        _report(args, name, run)
        if not run.converged and status == EXIT_OK:
            status = EXIT_NOT_CONVERGED
    return status


def _fit_imfit(args):
    from galfitax.io.run import fit_imfit

    if len(args.files) != 1:
        raise _BadUsage("--imfit takes exactly one image")
    with _Progress(f"fitting {args.files[0]}", args.quiet):
        run = fit_imfit(args.imfit, args.files[0], psf=args.psf, mask=args.mask,
                        noise=args.noise, errors_are_variances=args.errors_are_variances,
                        gain=args.gain, readnoise=args.readnoise, sky=args.sky,
                        ncombine=args.ncombine, output=args.output, overwrite=args.overwrite,
                        zeropoint=args.zeropoint, figure=args.figure)
    _report(args, args.files[0], run)
    from galfitax.io.imfit_config import config_from_model, config_text
    from galfitax.io.run import unwrap_model

    _say(args, "Best-fit parameters (imfit conventions):")
    _say(args, config_text(config_from_model(unwrap_model(run.fitted))).rstrip())
    return EXIT_OK if run.converged else EXIT_NOT_CONVERGED


def _summary(run):
    from galfitax.io.tables import results_table

    table = results_table(run.fitted, run.photometry, names=run.names)
    keys = [k for k in ("x", "y", "mag", "re", "rs", "n", "q", "pa", "sky") if k in
            table.colnames]
    for row in table:
        parts = [f"{k}={row[k]:.4f}" for k in keys if row[k] == row[k]]
        yield f"  {row['component']}: {row['type']} " + " ".join(parts)


def _demo(args):
    from galfitax.io.demo import run_demo

    with _Progress("fitting the demo galaxy", args.quiet):
        run = run_demo(args.output_dir, overwrite=args.overwrite)
    _report(args, "demo", run)
    for line in _summary(run):
        _say(args, line)
    _say(args, f"outputs written to {Path(args.output_dir).resolve()}")
    return EXIT_OK if run.converged else EXIT_NOT_CONVERGED


class _BadUsage(Exception):
    pass


def main(argv=None):
    """Entry point of the ``galfitax`` console script; returns the exit code.

    Examples
    --------
    >>> from galfitax.cli import main
    >>> main(["fit", "no-such.feedme", "--quiet"])
    2
    """
    from galfitax.exceptions import GalfitaxError

    args = _parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            if args.quiet:
                warnings.simplefilter("ignore")
            if args.command == "demo":
                return _demo(args)
            return _fit_imfit(args) if args.imfit else _fit_feedmes(args)
    except (GalfitaxError, _BadUsage, OSError) as exc:
        _error(exc)
        return EXIT_BAD_INPUT


def console_main(argv=None):
    """The ``galfitax`` console script: `main` with the persistent compilation cache on.

    Compiled fit programs are kept on disk (`galfitax.compilation_cache`), so
    a later ``galfitax`` run on the same model structure and image shape
    starts in seconds. ``--no-compilation-cache`` or
    ``GALFITAX_COMPILATION_CACHE=0`` turns it off; ``GALFITAX_PROGRAM_STORE=0``
    keeps compiled programs but not traced ones (see
    `galfitax.compilation_cache.enable_compilation_cache`).
    """
    args = sys.argv[1:] if argv is None else list(argv)
    if "--no-compilation-cache" in args:
        args.remove("--no-compilation-cache")
    elif os.environ.get("GALFITAX_COMPILATION_CACHE", "1") != "0":
        from galfitax.compilation_cache import enable_compilation_cache

        enable_compilation_cache(programs=os.environ.get("GALFITAX_PROGRAM_STORE", "1") != "0")
    return main(args)


def script_main():
    """What the installed ``galfitax`` command runs: `console_main` for one process.

    A command runs once and exits, and what its imports and compilations
    create lives until then anyway. ``gc.freeze`` takes those objects out of
    the cyclic garbage collector's view, so that the collections during the
    fit and the one at interpreter exit do not walk them all again (0.5 s of
    a 4 s cold start on a 2-core machine). `console_main` itself leaves the
    collector alone, for callers that keep their process.
    """
    gc.freeze()
    try:
        return console_main()
    finally:
        gc.freeze()


def _error(exc):
    message = " ".join(str(exc).split())
    print(f"galfitax: error: {message}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(script_main())
