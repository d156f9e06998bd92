"""File formats: GALFIT feedme files, imfit configs, imgblock FITS, tables and regions.

GALFIT's conventions (1-based pixels, PA from +y, axis ratio, magnitudes) are
converted to galfitax's (astropy's) in exactly one module,
`galfitax.io.conventions`.
"""

from galfitax.io.feedme import (
    GalfitComponent,
    GalfitConstraint,
    GalfitSetup,
    read_feedme,
    write_feedme,
)
from galfitax.io.imfit_config import (
    ImfitConfig,
    ImfitFunction,
    ImfitParameter,
    read_imfit_config,
    write_imfit_config,
)
from galfitax.io.images import FitInputs, load_fit_inputs

__all__ = [
    "FitInputs",
    "GalfitComponent",
    "GalfitConstraint",
    "GalfitSetup",
    "ImfitConfig",
    "ImfitFunction",
    "ImfitParameter",
    "load_fit_inputs",
    "read_feedme",
    "read_imfit_config",
    "write_feedme",
    "write_imfit_config",
]
