"""galfitax: fit 2-D galaxy light profiles to images with JAX and astropy.

Importing galfitax never changes global JAX configuration: every galfitax
computation runs in float64 inside a scoped ``jax.enable_x64(True)``.
"""

from galfitax.exceptions import GalfitaxError
from galfitax.fitting import LevMarFitter
from galfitax.models import (
    BrokenExponential2D,
    CoreSersic2D,
    DeVaucouleurs2D,
    EdgeOnDisk2D,
    Exponential2D,
    Ferrers2D,
    FlatSky,
    GalfitaxCompoundModel,
    Gaussian2D,
    King2D,
    Moffat2D,
    Nuker2D,
    PointSource2D,
    Profile2D,
    Sersic2D,
    TiltedSky,
    evaluate_model,
)
from galfitax.models.convolved import PSFConvolvedModel
from galfitax.multiband import Band, MultiBandFitter, MultiBandModel
from galfitax.settings import IntegrationSettings

try:
    from galfitax._version import version as __version__
except ImportError:  # pragma: no cover - running from a source tree without a build
    __version__ = "0.0.0"

__all__ = [
    "Band",
    "BrokenExponential2D",
    "CoreSersic2D",
    "DeVaucouleurs2D",
    "EdgeOnDisk2D",
    "Exponential2D",
    "Ferrers2D",
    "FlatSky",
    "GalfitaxCompoundModel",
    "GalfitaxError",
    "Gaussian2D",
    "IntegrationSettings",
    "King2D",
    "LevMarFitter",
    "Moffat2D",
    "MultiBandFitter",
    "MultiBandModel",
    "Nuker2D",
    "PSFConvolvedModel",
    "PointSource2D",
    "Profile2D",
    "Sersic2D",
    "TiltedSky",
    "evaluate_model",
]
