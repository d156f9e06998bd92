"""`Band`: one image of a multiband fit, with its noise, mask, PSF and photometry."""

import numpy as np

from galfitax.exceptions import ConfigurationError, InvalidImageError
from galfitax.multiband.wavelength import normalized_wavelengths

__all__ = ["Band", "check_bands"]


def _image(name, value, band, shape=None):
    if value is None:
        return None
    array = np.asarray(value, dtype=float)
    if array.ndim != 2 or array.size == 0:
        raise InvalidImageError(f"band {band!r}: {name} must be a non-empty 2-D array, "
                                f"got shape {array.shape}")
    if shape is not None and array.shape != shape:
        raise InvalidImageError(f"band {band!r}: {name} has shape {array.shape}, the image "
                                f"has shape {shape}")
    return array


class Band:
    """One band of a multiband fit: image, noise, mask, PSF, zeropoint and wavelength.

    Parameters
    ----------
    data : array_like
        The image (pixel ``[j, i]`` centred on ``(x, y) = (i, j)``).
    wavelength : float or `~astropy.units.Quantity`
        Effective wavelength (any unit, the same for all bands).
    sigma : array_like, optional
        1-sigma error image. Without it the fit builds one from the data
        (`~galfitax.fitting.sigma_from_data` with ``gain``, ``read_noise``,
        ``ncombine`` and ``sky``).
    mask : array_like, optional
        Bad-pixel mask, True / non-zero = bad. Non-finite data are masked too.
    psf : photutils PSF model, array_like, path or `~galfitax.psf.PSFKernel`, optional
        This band's PSF (see `galfitax.PSFConvolvedModel`). Either every
        band of a fit has a PSF or none has.
    oversampling, psf_oversampling, pixel_response, psf_shape
        How the PSF is used, as in `galfitax.PSFConvolvedModel`.
    zeropoint : float, optional
        Magnitude zeropoint (GALFIT ``J)``), for magnitudes in outputs.
    name : str, optional
        Band label (``"g"``, ``"F150W"``); default ``"band<k>"`` by position.
    gain, read_noise, ncombine, sky : float
        Detector description used only when ``sigma`` is not given.
    origin : (float, float)
        Model coordinates ``(x, y)`` of the centre of pixel ``[0, 0]`` (e.g.
        the corner of a cutout in the full image's 0-based frame).

    Examples
    --------
    >>> import numpy as np
    >>> from galfitax.multiband import Band
    >>> band = Band(np.zeros((32, 32)), wavelength=6200.0, sigma=np.ones((32, 32)), name="r")
    >>> band.name, band.shape, band.has_psf
    ('r', (32, 32), False)
    """

    def __init__(self, data, wavelength, *, sigma=None, mask=None, psf=None, oversampling=None,
                 psf_oversampling=None, pixel_response=None, psf_shape=None, zeropoint=None,
                 name=None, gain=1.0, read_noise=0.0, ncombine=1, sky=0.0, origin=(0.0, 0.0)):
        label = name if name is not None else "?"
        self.data = _image("data", data, label)
        self.sigma = _image("sigma", sigma, label, self.data.shape)
        self.mask = None if mask is None else _image("mask", mask, label, self.data.shape) != 0
        wavelength_value = getattr(wavelength, "value", wavelength)
        try:
            wavelength_value = float(wavelength_value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"band {label!r}: wavelength must be a number, got "
                                     f"{wavelength!r}") from None
        if not np.isfinite(wavelength_value):
            raise ConfigurationError(f"band {label!r}: wavelength must be finite, got "
                                     f"{wavelength!r}")
        self.wavelength = wavelength
        self.psf = psf
        self.psf_options = dict(oversampling=oversampling, psf_oversampling=psf_oversampling,
                                pixel_response=pixel_response, psf_shape=psf_shape)
        if zeropoint is not None and not np.isfinite(float(zeropoint)):
            raise ConfigurationError(f"band {label!r}: zeropoint must be finite, got {zeropoint!r}")
        self.zeropoint = None if zeropoint is None else float(zeropoint)
        self.name = None if name is None else str(name)
        self.noise = dict(gain=gain, read_noise=read_noise, ncombine=ncombine, sky=sky)
        origin = np.asarray(origin, dtype=float)
        if origin.shape != (2,) or not np.all(np.isfinite(origin)):
            raise ConfigurationError(f"band {label!r}: origin must be two finite numbers, got "
                                     f"{origin!r}")
        self.origin = (float(origin[0]), float(origin[1]))

    @property
    def shape(self):
        """``(ny, nx)`` of the image."""
        return self.data.shape

    @property
    def has_psf(self):
        """Whether this band has a PSF."""
        return self.psf is not None

    @property
    def wavelength_value(self):
        """The wavelength as a float (the Quantity's value if it has units)."""
        return float(getattr(self.wavelength, "value", self.wavelength))

    def __repr__(self):
        return (f"<Band {self.name!r} wavelength={self.wavelength} shape={self.shape} "
                f"psf={'yes' if self.has_psf else 'no'}>")


def _wavelength_unit(band):
    return getattr(band.wavelength, "unit", None)


def check_bands(bands):
    """Validate a sequence of bands for a joint fit; return them as a tuple with names set.

    Raises
    ------
    ConfigurationError
        No band, different image shapes, wavelengths not strictly increasing
        (or with different units), duplicate names, or a PSF on some bands
        but not all.
    """
    bands = tuple(bands)
    if not bands:
        raise ConfigurationError("a multiband fit needs at least one band")
    for k, band in enumerate(bands):
        if not isinstance(band, Band):
            raise ConfigurationError(f"bands[{k}] must be a Band, got {type(band).__name__}")
        if band.name is None:
            band.name = f"band{k}"
    shape = bands[0].shape
    for band in bands[1:]:
        if band.shape != shape:
            raise ConfigurationError(
                f"all bands must have the same image shape: band {bands[0].name!r} is {shape}, "
                f"band {band.name!r} is {band.shape} (cut the images to a common grid first)")
    units = {str(_wavelength_unit(band)) for band in bands}
    if len(units) > 1:
        raise ConfigurationError(f"band wavelengths have different units {sorted(units)}; "
                                 "convert them to one unit")
    normalized_wavelengths([band.wavelength_value for band in bands])
    names = [band.name for band in bands]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigurationError(f"band names must be unique, {duplicates} repeat")
    with_psf = [band.name for band in bands if band.has_psf]
    if with_psf and len(with_psf) != len(bands):
        missing = [band.name for band in bands if not band.has_psf]
        raise ConfigurationError(
            f"bands {missing} have no PSF while {with_psf} have one; give every band its PSF "
            "(a fit without PSF in some bands would be silently wrong)")
    return bands
