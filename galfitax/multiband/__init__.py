"""Multiband fitting with wavelength-dependent parameters (GALFITM-style)."""
