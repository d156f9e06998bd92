"""Checks and documented corrections of PSF images before they become kernels.

Every problem is either an `~galfitax.exceptions.InvalidPSFError` naming the
offending value, or a correction announced by a
`~galfitax.exceptions.PSFCorrectionWarning`; never a silent change.
"""

import warnings

import numpy as np

from galfitax.exceptions import InvalidPSFError, PSFCorrectionWarning

__all__ = ["NORMALIZATION_RTOL", "centre_index", "validate_psf_array"]

NORMALIZATION_RTOL = 1e-6
"""A PSF whose sum differs from 1 by more than this is "not normalised"."""


def centre_index(size):
    """0-based index of the PSF centre along an axis of ``size`` samples.

    ``(size - 1) / 2`` for odd sizes; ``size // 2`` for even sizes (GALFIT's
    convention, pixel ``N/2 + 1`` counted from 1, and the FFT convention).

    Examples
    --------
    >>> from galfitax.psf.validation import centre_index
    >>> centre_index(25), centre_index(24)
    (12, 12)
    """
    return int(size) // 2


def _as_float_image(psf):
    try:
        array = np.array(psf, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidPSFError(f"the PSF must be a 2-D array of numbers: {exc}") from None
    if array.ndim != 2:
        raise InvalidPSFError(f"the PSF must be a 2-D image, got an array with ndim={array.ndim} "
                              f"and shape {array.shape}")
    if min(array.shape) < 1:
        raise InvalidPSFError(f"the PSF image is empty (shape {array.shape})")
    return array


def _check_finite(array):
    n_nan = int(np.count_nonzero(np.isnan(array)))
    n_inf = int(np.count_nonzero(np.isinf(array)))
    if n_nan or n_inf:
        raise InvalidPSFError(
            f"the PSF image ({array.shape[0]} x {array.shape[1]}) holds {n_nan} NaN and "
            f"{n_inf} infinite values; replace them (e.g. with 0 or an interpolation) first"
        )


def _pad_to_odd(array):
    """Append a zero row / column to even axes, so the centre ``size // 2`` is the middle."""
    pad_y = 1 - array.shape[0] % 2
    pad_x = 1 - array.shape[1] % 2
    if not (pad_y or pad_x):
        return array
    warnings.warn(
        f"the PSF image has even size {array.shape}: its centre is taken to be pixel "
        f"(row {centre_index(array.shape[0])}, column {centre_index(array.shape[1])}) "
        "(0-based; GALFIT's convention) and a zero row/column is appended to make it odd",
        PSFCorrectionWarning, stacklevel=4,
    )
    return np.pad(array, ((0, pad_y), (0, pad_x)))


def _check_peak(array, oversampling):
    """Warn when the brightest sample is more than one image pixel from the centre."""
    row, col = np.unravel_index(np.argmax(array), array.shape)
    cy, cx = centre_index(array.shape[0]), centre_index(array.shape[1])
    if max(abs(row - cy), abs(col - cx)) > oversampling:
        warnings.warn(
            f"the PSF peak is at (row {row}, column {col}) but its centre is taken to be "
            f"(row {cy}, column {cx}); fitted positions will be offset by that difference",
            PSFCorrectionWarning, stacklevel=4,
        )


def validate_psf_array(psf, *, normalize=True, oversampling=1):
    """Return a checked, odd-sized PSF image normalised to unit sum.

    Parameters
    ----------
    psf : array_like
        2-D PSF image.
    normalize : bool
        If True, a PSF whose sum is not 1 (within `NORMALIZATION_RTOL`) is
        divided by its sum with a `~galfitax.exceptions.PSFCorrectionWarning`;
        if False it is an error.
    oversampling : int
        PSF samples per image pixel (used to judge how far the peak may be
        from the centre).

    Returns
    -------
    numpy.ndarray
        Read-only float64 array of odd shape summing to 1. An even axis gets a
        zero row/column appended (centre at index ``size // 2``, see
        `centre_index`), with a warning.

    Raises
    ------
    galfitax.exceptions.InvalidPSFError
        Wrong dimensionality, NaN or infinite values (the message gives their
        count), a sum that is not positive, or (``normalize=False``) a sum
        that is not 1.

    Examples
    --------
    >>> import numpy as np
    >>> from galfitax.psf.validation import validate_psf_array
    >>> psf = np.zeros((5, 5))
    >>> psf[2, 2] = 1.0
    >>> validate_psf_array(psf).shape
    (5, 5)
    """
    array = _as_float_image(psf)
    _check_finite(array)
    total = float(array.sum())
    if not total > 0:
        raise InvalidPSFError(
            f"the PSF image sums to {total!r}; a PSF must have a positive total"
        )
    if abs(total - 1.0) > NORMALIZATION_RTOL:
        if not normalize:
            raise InvalidPSFError(
                f"the PSF image sums to {total!r}, not 1; normalise it or pass normalize=True"
            )
        warnings.warn(f"the PSF image sums to {total!r}; it was divided by its sum",
                      PSFCorrectionWarning, stacklevel=3)
    array = _pad_to_odd(array / total)
    _check_peak(array, oversampling)
    array.setflags(write=False)
    return array
