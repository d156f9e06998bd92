"""Sigma images from the data, as GALFIT and imfit build them when none is given."""

import numpy as np

from galfitax.exceptions import InvalidParameterError

__all__ = ["sigma_from_data"]


def _positive(name, value, allow_zero=False):
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise InvalidParameterError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, "
                                    f"got {value!r}")
    return value


def sigma_from_data(data, *, gain=1.0, read_noise=0.0, ncombine=1, sky=0.0):
    r"""Per-pixel 1-sigma noise estimated from the data (Poisson + read noise).

    The image is taken to be the average of ``ncombine`` exposures in ADU
    with detector ``gain`` (e-/ADU) and ``read_noise`` (e-), from which a
    background ``sky`` (ADU) was subtracted. In ADU,

    .. math::

        \sigma^2 = \frac{d + s}{g N} + \frac{r^2}{g^2 N},

    the variance of ``(d + s) g N`` photo-electrons plus ``N`` reads, scaled
    back to the averaged image. This is the sigma image GALFIT makes when no
    sigma image is given, and imfit's default data-based errors. Pixels where
    ``d + s < 0`` get the read-noise term only; pixels whose variance is not
    positive (no read noise and no counts) are returned as ``inf`` (weight 0).

    Parameters
    ----------
    data : array_like
        Image in ADU (sky-subtracted if ``sky`` > 0).
    gain : float
        Detector gain, electrons per ADU.
    read_noise : float
        Read noise per exposure, electrons.
    ncombine : int
        Number of exposures averaged into the image.
    sky : float
        Background level already subtracted from ``data``, ADU.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from galfitax.fitting import sigma_from_data
    >>> sigma = sigma_from_data(np.array([[100.0, 0.0]]), gain=4.0, read_noise=4.0, sky=21.0)
    >>> [round(float(v), 3) for v in sigma.ravel()]
    [5.59, 2.5]
    """
    gain = _positive("gain", gain)
    read_noise = _positive("read_noise", read_noise, allow_zero=True)
    ncombine = _positive("ncombine", ncombine)
    sky = float(sky)
    counts = np.clip(np.asarray(data, dtype=float) + sky, 0.0, None)
    variance = counts / (gain * ncombine) + read_noise**2 / (gain**2 * ncombine)
    with np.errstate(divide="ignore"):
        return np.where(variance > 0, np.sqrt(np.where(variance > 0, variance, 1.0)), np.inf)
