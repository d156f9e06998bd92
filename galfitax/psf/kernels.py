"""Turn photutils PSF models, arrays and FITS files into validated convolution kernels.

A `PSFKernel` is what the JAX convolution needs: an odd-sized image of unit
sum, the number of samples per image pixel (``oversampling``) and what the
samples are (``pixel_response``):

``"integrated"``
    samples of the pixel response function (PRF): the PSF integrated over
    an image pixel centred on each sample. Star images, photutils ePSFs
    (`~photutils.psf.ImagePSF`, `~photutils.psf.GriddedPSFModel`) and
    photutils ``*PRF`` models are PRFs; analytic PSF models are integrated
    over the pixel here (Gauss-Legendre) to become one.
``"sampled"``
    point samples of the PSF itself (e.g. an optical model sampled finely).
``"galfit"``
    samples used as the kernel for pixel-integrated model values, exactly as
    GALFIT and imfit do (this counts the pixel response twice: for a
    Gaussian PSF of width sigma the effective PSF variance is sigma^2 + 1/12
    pixel^2 larger; use it to reproduce their fits).
"""

import hashlib
import os

import numpy as np
from astropy.modeling import Model

from galfitax.exceptions import InputFileError, InvalidPSFError
from galfitax.psf.validation import validate_psf_array

__all__ = ["PIXEL_RESPONSES", "PSFKernel", "make_kernel"]

PIXEL_RESPONSES = ("integrated", "sampled", "galfit")

_PIXEL_QUADRATURE = 8  # Gauss-Legendre nodes per axis integrating analytic PSFs over a pixel
_MAX_AUTO_HALF = 32  # image pixels: largest automatic half-size of a kernel from a model


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidPSFError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class PSFKernel:
    """A validated PSF image ready for FFT convolution (hashable by content).

    Parameters
    ----------
    array : array_like
        2-D PSF image. It is checked and normalised by
        `~galfitax.psf.validation.validate_psf_array` (even sizes get their
        centre at index ``size // 2``).
    oversampling : int
        Samples per image pixel along each axis (GALFIT's "PSF fine sampling
        factor").
    pixel_response : {"integrated", "sampled", "galfit"}
        What the samples are; see :mod:`galfitax.psf.kernels`.
    normalize : bool
        Normalise a PSF whose sum is not 1 (with a warning) instead of
        raising.

    Examples
    --------
    >>> import numpy as np
    >>> from galfitax.psf import PSFKernel
    >>> y, x = np.mgrid[-7:8, -7:8]
    >>> kernel = PSFKernel(np.exp(-(x**2 + y**2) / 4.5) / (4.5 * np.pi))
    >>> kernel.shape, kernel.oversampling
    ((15, 15), 1)
    >>> round(float(kernel.array.sum()), 12)
    1.0
    """

    __slots__ = ("array", "oversampling", "pixel_response", "_key")

    def __init__(self, array, *, oversampling=1, pixel_response="integrated", normalize=True):
        oversampling = _positive_int(oversampling, "oversampling")
        if pixel_response not in PIXEL_RESPONSES:
            raise InvalidPSFError(
                f"pixel_response must be one of {PIXEL_RESPONSES}, got {pixel_response!r}")
        array = validate_psf_array(array, normalize=normalize, oversampling=oversampling)
        _set_state(self, array, oversampling, pixel_response)

    def __setattr__(self, name, value):
        raise AttributeError("PSFKernel is immutable")

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return isinstance(other, PSFKernel) and self._key == other._key

    def __repr__(self):
        return (f"<PSFKernel shape={self.shape} oversampling={self.oversampling} "
                f"pixel_response={self.pixel_response!r}>")

    def __reduce__(self):
        return (_rebuild_kernel, (np.array(self.array), self.oversampling, self.pixel_response))

    @property
    def shape(self):
        """``(ny, nx)`` in samples (odd)."""
        return self.array.shape

    @property
    def half_size(self):
        """``(ny // 2, nx // 2)``: samples from the centre to the edge."""
        return tuple(n // 2 for n in self.shape)

    @property
    def extent(self):
        """``(ny, nx)`` size in image pixels."""
        return tuple(n / self.oversampling for n in self.shape)


def _set_state(kernel, array, oversampling, pixel_response):
    array.setflags(write=False)
    digest = hashlib.sha1(array.tobytes()).hexdigest()
    for name, value in (("array", array), ("oversampling", oversampling),
                        ("pixel_response", pixel_response),
                        ("_key", (digest, array.shape, oversampling, pixel_response))):
        object.__setattr__(kernel, name, value)


def _rebuild_kernel(array, oversampling, pixel_response):
    """Unpickle without re-validating (and re-warning about) an already validated array."""
    kernel = object.__new__(PSFKernel)
    _set_state(kernel, array, oversampling, pixel_response)
    return kernel


def _read_fits(path, hdu):
    from astropy.io import fits

    try:
        data = fits.getdata(path, hdu)
    except (OSError, IndexError, KeyError) as exc:
        raise InputFileError(f"cannot read a PSF image from HDU {hdu!r}: {exc}", path) from None
    if data is None:
        raise InputFileError(f"HDU {hdu!r} holds no image", path)
    return data


def _model_sampling(psf):
    """Native oversampling of photutils image PSF models (None for analytic models)."""
    sampling = getattr(psf, "oversampling", None)
    if sampling is None:
        return None
    sampling = np.atleast_1d(np.asarray(sampling))
    if sampling.size == 2 and sampling[0] != sampling[1]:
        raise InvalidPSFError(
            f"{type(psf).__name__} has different x and y oversampling {tuple(sampling)}; "
            "galfitax needs one factor for both axes")
    return _positive_int(int(sampling.flat[0]), "the PSF model's oversampling")


def _is_prf_model(psf):
    """photutils ePSF image models and ``*PRF`` models return pixel-integrated values."""
    from photutils.psf import GriddedPSFModel, ImagePSF

    return isinstance(psf, (ImagePSF, GriddedPSFModel)) or type(psf).__name__.endswith("PRF")


def _centred_copy(psf, position):
    """A copy of a PSF model with unit flux, centred on ``position`` (or its own centre)."""
    model = psf.copy()
    if "flux" in model.param_names:
        model.flux = 1.0
    names = [pair for pair in (("x_0", "y_0"), ("x_mean", "y_mean"))
             if pair[0] in model.param_names and pair[1] in model.param_names]
    if position is not None and names:
        setattr(model, names[0][0], float(position[0]))
        setattr(model, names[0][1], float(position[1]))
    if names:
        return model, (float(getattr(model, names[0][0]).value),
                       float(getattr(model, names[0][1]).value))
    return model, (0.0, 0.0)


def _pixel_integrated(model, x, y):
    nodes, weights = np.polynomial.legendre.leggauss(_PIXEL_QUADRATURE)
    nodes, weights = 0.5 * nodes, 0.5 * weights
    total = np.zeros(np.broadcast_shapes(x.shape, y.shape))
    for node_y, weight_y in zip(nodes, weights):
        for node_x, weight_x in zip(nodes, weights):
            total += weight_x * weight_y * model(x + node_x, y + node_y)
    return total


def _auto_half_size(model, centre):
    """Half-size in image pixels: four FWHM (measured on a trial grid), within [4, 32]."""
    step = 0.25  # trial grid spacing, image pixels: the FWHM to a few percent
    offsets = np.arange(-_MAX_AUTO_HALF, _MAX_AUTO_HALF + step, step)
    values = np.asarray(model(centre[0] + offsets[None, :], centre[1] + offsets[:, None]),
                        dtype=float)
    if not np.all(np.isfinite(values)) or not values.max() > 0:
        raise InvalidPSFError(f"{type(model).__name__} gives no positive finite values "
                              "around its centre")
    area = np.count_nonzero(values >= 0.5 * values.max()) * step**2
    fwhm = 2.0 * np.sqrt(area / np.pi)
    return int(np.clip(np.ceil(4.0 * fwhm), 4, _MAX_AUTO_HALF))


def _half_sizes(psf_shape, model, centre, oversampling):
    if psf_shape is None:
        data = getattr(model, "data", None)
        if isinstance(data, np.ndarray) and data.ndim >= 2:
            native = _model_sampling(model) or 1
            return tuple(int(np.ceil((n - 1) / 2 * oversampling / native)) for n in data.shape[-2:])
        half = _auto_half_size(model, centre) * oversampling
        return half, half
    sizes = np.broadcast_to(np.asarray(psf_shape), (2,))
    for size in sizes:
        _positive_int(size, "psf_shape")
    return tuple(int(size) * oversampling // 2 for size in sizes)


def _sample_model(psf, *, oversampling, psf_shape, position, pixel_response):
    from photutils.psf import GriddedPSFModel

    if isinstance(psf, GriddedPSFModel) and position is None:
        raise InvalidPSFError("a GriddedPSFModel needs the position where the PSF is wanted")
    prf = _is_prf_model(psf)
    if prf and pixel_response == "sampled":
        raise InvalidPSFError(f"{type(psf).__name__} gives pixel-integrated values (a PRF); "
                              "pixel_response='sampled' does not apply")
    model, centre = _centred_copy(psf, position)
    half_y, half_x = _half_sizes(psf_shape, model, centre, oversampling)
    offsets_y = np.arange(-half_y, half_y + 1) / oversampling
    offsets_x = np.arange(-half_x, half_x + 1) / oversampling
    x = centre[0] + offsets_x[None, :]
    y = centre[1] + offsets_y[:, None]
    if prf or pixel_response == "sampled":
        values = model(x, y)
    else:
        values = _pixel_integrated(model, x, y)
    values = np.asarray(values, dtype=float)
    if np.all(np.isfinite(values)) and values.sum() > 0:
        values = values / values.sum()  # the model's shape matters, not its flux or box
    return values


def make_kernel(psf, *, oversampling=None, psf_oversampling=None, normalize=True,
                pixel_response=None, psf_shape=None, position=None, hdu=0):
    """Turn a PSF of any supported kind into a `PSFKernel`.

    Parameters
    ----------
    psf : `PSFKernel`, astropy/photutils model, array_like or path
        A photutils PSF model (`~photutils.psf.ImagePSF`,
        `~photutils.psf.GriddedPSFModel` evaluated at ``position``,
        `~photutils.psf.CircularGaussianPRF`, `~photutils.psf.MoffatPSF`,
        ... or any 2-D astropy model), a 2-D array, or a FITS file path.
    oversampling : int, optional
        Samples per image pixel of the kernel. Default: ``psf_oversampling``
        for arrays, the model's own oversampling for photutils image models,
        else 1.
    psf_oversampling : int, optional
        For arrays and FITS files: how many times finer than the image the
        PSF is sampled (GALFIT's "PSF fine sampling factor"), default 1.
        ``oversampling`` must then equal it (or be omitted).
    normalize : bool
        Normalise arrays that do not sum to 1 (with a warning) instead of
        raising. Kernels from models are always normalised over their box.
    pixel_response : {"integrated", "sampled", "galfit"}, optional
        What the samples are (see :mod:`galfitax.psf.kernels`). Default
        ``"integrated"`` for models (ePSFs and ``*PRF`` models are PRFs;
        other models are pixel-integrated here, ``"sampled"`` evaluates them
        at the sample points instead); ``"galfit"`` for arrays and FITS
        files at the image sampling (used exactly as GALFIT and imfit use
        them, so the same inputs give the same fit; pass ``"integrated"`` to
        treat a star image as a PRF and count the pixel response once);
        ``"sampled"`` for arrays with
        ``psf_oversampling > 1`` (optics models such as TinyTim or WebbPSF
        sampled finer than the detector, as GALFIT expects them).
    psf_shape : int or (int, int), optional
        Size in image pixels of the box a model PSF is sampled on. Default:
        the data of image models, else 4 FWHM either side (4 to 32 pixels).
    position : (float, float), optional
        ``(x, y)`` where a `~photutils.psf.GriddedPSFModel` is evaluated.
    hdu : int or str
        FITS extension holding the PSF image.

    Returns
    -------
    PSFKernel

    Examples
    --------
    >>> from photutils.psf import CircularGaussianPRF
    >>> from galfitax.psf import make_kernel
    >>> kernel = make_kernel(CircularGaussianPRF(fwhm=2.0), psf_shape=15)
    >>> kernel.shape, kernel.pixel_response
    ((15, 15), 'integrated')
    """
    if pixel_response is not None and pixel_response not in PIXEL_RESPONSES:
        raise InvalidPSFError(
            f"pixel_response must be one of {PIXEL_RESPONSES}, got {pixel_response!r}")
    if oversampling is not None:
        oversampling = _positive_int(oversampling, "oversampling")
    if isinstance(psf, PSFKernel):
        if oversampling not in (None, psf.oversampling) or psf_oversampling not in (
                None, psf.oversampling):
            raise InvalidPSFError(
                f"the PSFKernel has oversampling {psf.oversampling}; oversampling / "
                f"psf_oversampling {oversampling or psf_oversampling} disagree")
        if pixel_response not in (None, psf.pixel_response):
            raise InvalidPSFError(f"the PSFKernel has pixel_response {psf.pixel_response!r}")
        return psf
    if isinstance(psf, Model):
        if psf_oversampling is not None:
            raise InvalidPSFError("psf_oversampling describes PSF arrays; a PSF model is "
                                  "sampled at `oversampling`")
        if oversampling is None:
            oversampling = _model_sampling(psf) or 1
        pixel_response = pixel_response or "integrated"
        array = _sample_model(psf, oversampling=oversampling, psf_shape=psf_shape,
                              position=position, pixel_response=pixel_response)
        return PSFKernel(array, oversampling=oversampling, pixel_response=pixel_response,
                         normalize=normalize)
    if isinstance(psf, (str, os.PathLike)):
        psf = _read_fits(psf, hdu)
    if psf_oversampling is not None:
        psf_oversampling = _positive_int(psf_oversampling, "psf_oversampling")
    if psf_oversampling is None:
        psf_oversampling = 1
    if oversampling not in (None, psf_oversampling):
        raise InvalidPSFError(
            f"oversampling={oversampling} differs from psf_oversampling={psf_oversampling}; "
            "a PSF array is used at its own sampling (give psf_oversampling, the PSF "
            "samples per image pixel, or resample the PSF first)")
    if psf_shape is not None:
        raise InvalidPSFError("psf_shape applies to PSF models; crop arrays yourself")
    if pixel_response is None:
        # PSF images at the image sampling are used as GALFIT and imfit use them, so fits
        # of the same files give the same answers; PSFs finer than the detector come
        # from optics models and are point samples
        pixel_response = "galfit" if psf_oversampling == 1 else "sampled"
    return PSFKernel(psf, oversampling=psf_oversampling, pixel_response=pixel_response,
                     normalize=normalize)
