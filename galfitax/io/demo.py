"""``galfitax demo``: fit the example HST galaxy shipped inside the package."""

import shutil
from pathlib import Path

from galfitax.exceptions import InputFileError

__all__ = ["DEMO_FILES", "demo_data_path", "run_demo"]

DEMO_FILES = ("galfit.feedme", "aegis_14886_f814w.fits", "aegis_14886_f814w_sigma.fits",
              "aegis_14886_f814w_psf.fits")


def demo_data_path(name=""):
    """Path of the demo data folder (or of one file in it) inside the installed package.

    Examples
    --------
    >>> from galfitax.io.demo import demo_data_path
    >>> demo_data_path("galfit.feedme").is_file()
    True
    """
    return Path(__file__).resolve().parent.parent / "data" / name


def run_demo(output_dir="galfitax-demo", *, overwrite=False, figure=True):
    """Copy the demo inputs to ``output_dir`` and run them like ``galfitax fit``.

    Writes the imgblock, the fitted feedme (``galfit.01``), an ECSV table, a
    DS9 region file and (with matplotlib) a PNG figure into ``output_dir``.

    Returns
    -------
    galfitax.io.run.FitRun
    """
    from galfitax.io.run import fit_feedme

    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for name in DEMO_FILES:
        target = folder / name
        if target.exists() and not overwrite:
            raise InputFileError("demo file exists (use --overwrite)", target)
        shutil.copyfile(demo_data_path(name), target)
    if overwrite:
        for stale in folder.glob("galfit.[0-9][0-9]"):
            stale.unlink()
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # pragma: no cover - matplotlib is an optional extra
        figure = False
    return fit_feedme(folder / "galfit.feedme", overwrite=overwrite, figure=figure)
