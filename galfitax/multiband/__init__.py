"""Multiband fitting with wavelength-dependent parameters (GALFITM-style)."""

from galfitax.multiband.bands import Band
from galfitax.multiband.fitter import MultiBandFitter
from galfitax.multiband.model import DEFAULT_FREEDOM, MultiBandModel

__all__ = ["DEFAULT_FREEDOM", "Band", "MultiBandFitter", "MultiBandModel"]
