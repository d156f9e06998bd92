"""Fitting galfitax models to images: the Levenberg-Marquardt astropy fitter and noise models."""

from galfitax.fitting.fitter import LevMarFitter
from galfitax.fitting.noise import sigma_from_data

__all__ = ["LevMarFitter", "sigma_from_data"]
