"""Exceptions raised by galfitax.

Every error galfitax raises on bad input is a `GalfitaxError`. The concrete
classes also derive from the matching builtin (`ValueError`, `TypeError`,
`FileNotFoundError`) so code that catches builtins keeps working.
"""

__all__ = [
    "ConfigurationError",
    "ConvergenceWarning",
    "GalfitaxError",
    "GalfitaxWarning",
    "InputFileError",
    "InvalidImageError",
    "InvalidModelError",
    "InvalidParameterError",
    "InvalidPSFError",
    "PrecisionWarning",
    "PSFCorrectionWarning",
]


class GalfitaxError(Exception):
    """Base class of every error raised by galfitax."""


class InvalidParameterError(GalfitaxError, ValueError):
    """A model parameter or option has an invalid value."""


class InvalidModelError(GalfitaxError, TypeError):
    """A model cannot be rendered or fitted by galfitax (e.g. unsupported component)."""


class InvalidImageError(GalfitaxError, ValueError):
    """An image, sigma image or mask is malformed (shape, NaNs, dtype...)."""


class InvalidPSFError(GalfitaxError, ValueError):
    """A PSF image or model cannot be used for convolution."""


class InputFileError(GalfitaxError, ValueError):
    """An input file (feedme, imfit config, FITS) is missing or malformed.

    Parameters
    ----------
    message : str
        What is wrong.
    path : str, optional
        The offending file.
    line : int, optional
        1-based line number in that file.
    """

    def __init__(self, message, path=None, line=None):
        self.path = None if path is None else str(path)
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message)


class ConfigurationError(GalfitaxError, ValueError):
    """Inconsistent options (e.g. multiband bands that do not match)."""


class GalfitaxWarning(UserWarning):
    """Base class of galfitax warnings."""


class ConvergenceWarning(GalfitaxWarning):
    """A fit stopped without meeting its convergence criteria."""


class PrecisionWarning(GalfitaxWarning):
    """Computation would run in single precision."""


class PSFCorrectionWarning(GalfitaxWarning):
    """A PSF was corrected (normalised, recentred, NaNs replaced) before use."""
