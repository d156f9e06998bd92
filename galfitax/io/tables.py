"""Fit results as an astropy Table (one row per component), written as ECSV."""

import numpy as np
from astropy.table import Table

from galfitax.io.conventions import COMPONENTS, Photometry, galfit_errors, model_to_galfit
from galfitax.io.files import atomic_write

__all__ = ["results_table", "write_results_table"]

_GALFIT_KEYS = tuple(dict.fromkeys(key for spec in COMPONENTS.values() for key in spec.keys))


def results_table(model, photometry=None, *, fit_info=None, names=None):
    """One row per component: GALFIT-convention values and errors, and galfitax parameters.

    Columns: ``component`` (1-based, GALFIT numbering), ``type`` (GALFIT
    name), ``class`` (galfitax class), then for every GALFIT quantity ``key``
    and ``key_err`` (``x, y`` 1-based, ``mag``, ``re``, ``n``, ``q``, ``pa``
    ...; NaN where a component has no such quantity), then the galfitax
    parameters ``p_<name>`` and ``p_<name>_err`` (0-based, ``theta``,
    ``ellip``, ``flux``). Fit statistics go to ``meta``.

    Examples
    --------
    >>> from galfitax import Exponential2D, Sersic2D
    >>> from galfitax.io.conventions import Photometry
    >>> from galfitax.io.tables import results_table
    >>> table = results_table(Sersic2D(flux=100.0, r_eff=3.0, n=2.0) + Exponential2D(flux=10.0),
    ...                       Photometry(25.0))
    >>> [str(t) for t in table["type"]], [round(float(m), 3) for m in table["mag"]]
    (['sersic', 'expdisk'], [20.0, 22.5])
    """
    from galfitax.io.feedme import model_components
    from galfitax.io.imgblock import component_stds

    photometry = photometry or Photometry()
    leaves = model_components(model)
    stds = component_stds(model)
    pnames = list(dict.fromkeys(p for leaf in leaves for p in leaf.param_names))
    rows = []
    for index, (leaf, leaf_stds) in enumerate(zip(leaves, stds)):
        name, values = model_to_galfit(leaf, photometry)
        errors = galfit_errors(leaf, photometry, leaf_stds)
        row = {"component": index + 1, "type": names[index] if names else name,
               "class": type(leaf).__name__}
        for key in _GALFIT_KEYS:
            row[key] = values.get(key, np.nan)
            row[f"{key}_err"] = errors.get(key, np.nan) if key in values else np.nan
        for pname in pnames:
            present = pname in leaf.param_names
            row[f"p_{pname}"] = float(getattr(leaf, pname).value) if present else np.nan
            std = leaf_stds.get(pname) if present and leaf_stds else None
            row[f"p_{pname}_err"] = np.nan if std is None else std
        rows.append(row)
    table = Table(rows=rows, names=list(rows[0]))
    table.meta["zeropoint"] = float(photometry.zeropoint)
    table.meta["exptime"] = float(photometry.exptime)
    table.meta["plate_scale"] = [float(v) for v in photometry.plate_scale]
    table.meta["conventions"] = ("GALFIT columns: 1-based x, y; pa deg CCW from +y; q = b/a; "
                                 "mag = zeropoint - 2.5 log10(flux / exptime). p_ columns: "
                                 "galfitax (astropy) parameters, 0-based, theta rad CCW from +x")
    for key in ("chi2", "chi2_nu", "dof", "n_iter", "nfev", "converged", "status", "message"):
        if fit_info and key in fit_info and fit_info[key] is not None:
            value = fit_info[key]
            table.meta[key] = value.item() if isinstance(value, np.generic) else value
    return table


def write_results_table(table, path, *, overwrite=False, protected=()):
    """Write a results table as ECSV atomically."""
    return atomic_write(path, lambda tmp: table.write(tmp, format="ascii.ecsv", overwrite=True),
                        overwrite=overwrite, protected=protected, suffix=".ecsv")
