"""DS9 region files of fitted components (through the optional ``regions`` package)."""

import numpy as np

from galfitax.exceptions import ConfigurationError
from galfitax.io.files import atomic_write

__all__ = ["component_regions", "write_regions"]

# Semi-major axis drawn for each class: the half-light radius where it is a parameter.
_RADIUS = {
    "Sersic2D": lambda p: p["r_eff"],
    "DeVaucouleurs2D": lambda p: p["r_eff"],
    "Exponential2D": lambda p: 1.678347 * p["r_s"],
    "Gaussian2D": lambda p: 0.5 * p["fwhm"],
    "Moffat2D": lambda p: 0.5 * p["fwhm"],
    "King2D": lambda p: p["r_c"],
    "Ferrers2D": lambda p: p["r_out"],
    "Nuker2D": lambda p: p["r_b"],
    "CoreSersic2D": lambda p: p["r_eff"],
    "BrokenExponential2D": lambda p: p["r_break"],
    "EdgeOnDisk2D": lambda p: p["r_s"],
}


def _import_regions():
    try:
        import regions
    except ImportError:
        raise ConfigurationError("region files need the optional 'regions' package: "
                                 "pip install 'galfitax[regions]'") from None
    return regions


def component_regions(model):
    """A `regions.Regions` with each component's ellipse at its half-light radius.

    Sersic-like components are drawn at ``r_eff`` (exponential disks at
    ``1.678 r_s``, Gaussian/Moffat at FWHM/2, King at ``r_c``, Nuker at
    ``r_b``); point sources as points; skies are left out. Each region is
    labelled with its GALFIT component number and type.

    Examples
    --------
    >>> from galfitax import Sersic2D
    >>> from galfitax.io.regions import component_regions
    >>> regs = component_regions(Sersic2D(r_eff=4.0, x_0=10.0, y_0=12.0, ellip=0.5))
    >>> float(regs[0].width), float(regs[0].height), regs[0].meta["text"]
    (8.0, 4.0, '1: sersic')
    """
    regions = _import_regions()
    import astropy.units as u

    from galfitax.io.conventions import galfit_name
    from galfitax.io.feedme import model_components

    out = []
    for number, leaf in enumerate(model_components(model), start=1):
        p = {name: float(getattr(leaf, name).value) for name in leaf.param_names}
        if "x_0" not in p or type(leaf).__name__ == "TiltedSky":
            continue
        centre = regions.PixCoord(p["x_0"], p["y_0"])
        label = f"{number}: {galfit_name(leaf)}"
        radius = _RADIUS.get(type(leaf).__name__)
        if radius is None:
            out.append(regions.PointPixelRegion(centre, meta={"text": label}))
            continue
        a = radius(p)
        b = a * (1.0 - p["ellip"]) if "ellip" in p else p["h_s"]
        out.append(regions.EllipsePixelRegion(centre, width=2.0 * a, height=2.0 * b,
                                              angle=np.degrees(p["theta"]) * u.deg,
                                              meta={"text": label}))
    return regions.Regions(out)


def write_regions(model, path, *, overwrite=False, protected=()):
    """Write `component_regions` of a model as a DS9 region file (image coordinates)."""
    regs = component_regions(model)
    return atomic_write(path, lambda tmp: regs.write(tmp, format="ds9", overwrite=True),
                        overwrite=overwrite, protected=protected, suffix=".reg")
