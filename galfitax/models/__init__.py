"""astropy models of galaxy light profiles, evaluated with JAX."""

from galfitax.models.core import GalfitaxCompoundModel, Profile2D, evaluate_model
from galfitax.models.profiles import (
    BrokenExponential2D,
    CoreSersic2D,
    DeVaucouleurs2D,
    EdgeOnDisk2D,
    Exponential2D,
    Ferrers2D,
    FlatSky,
    Gaussian2D,
    King2D,
    Moffat2D,
    Nuker2D,
    PointSource2D,
    Sersic2D,
    TiltedSky,
)

__all__ = [
    "BrokenExponential2D",
    "CoreSersic2D",
    "DeVaucouleurs2D",
    "EdgeOnDisk2D",
    "Exponential2D",
    "Ferrers2D",
    "FlatSky",
    "GalfitaxCompoundModel",
    "Gaussian2D",
    "King2D",
    "Moffat2D",
    "Nuker2D",
    "PointSource2D",
    "Profile2D",
    "Sersic2D",
    "TiltedSky",
    "evaluate_model",
]
