"""Reading and checking the images of a fit (data, sigma, mask, PSF) from files."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.stats import sigma_clipped_stats

from galfitax.exceptions import InputFileError, InvalidImageError, InvalidPSFError

__all__ = ["FitInputs", "load_fit_inputs", "read_fits_image", "read_mask", "sigma_from_image"]


@dataclass
class FitInputs:
    """The arrays of one fit, cut to the fitting region.

    Attributes
    ----------
    data : numpy.ndarray
        Image of the fitting region.
    sigma : numpy.ndarray
        1-sigma noise per pixel (same shape).
    mask : numpy.ndarray of bool
        True where a pixel is excluded (bad pixels and non-finite data).
    psf : numpy.ndarray or None
        PSF image (sampled ``psf_sampling`` times finer than the data).
    x, y : numpy.ndarray
        0-based pixel centres of ``data`` in the full image's coordinates
        (what the model parameters refer to).
    region : tuple
        GALFIT ``H)`` region, 1-based inclusive ``(xmin, xmax, ymin, ymax)``.
    header : astropy.io.fits.Header
        Header of the data image.
    exptime : float
        EXPTIME from the header (1 if absent), for GALFIT magnitudes.
    psf_sampling : int
        PSF fine-sampling factor.
    """

    data: np.ndarray
    sigma: np.ndarray
    mask: np.ndarray
    psf: np.ndarray = None
    x: np.ndarray = None
    y: np.ndarray = None
    region: tuple = None
    header: fits.Header = field(default_factory=fits.Header)
    exptime: float = 1.0
    psf_sampling: int = 1

    @property
    def shape(self):
        """Shape of the fitting region."""
        return self.data.shape


def read_fits_image(path, what="image", *, feedme=None, line=None):
    """``(array, header)`` of the first 2-D image HDU of a FITS file.

    Raises `InputFileError` naming ``what`` (e.g. "PSF image") when the
    file is missing, unreadable or holds no 2-D image.
    """
    path = Path(path)
    where = dict(path=feedme or path, line=line)
    if not path.is_file():
        raise InputFileError(f"{what} {str(path)!r} not found", **where)
    try:
        with fits.open(path, memmap=False) as hdul:
            for hdu in hdul:
                if hdu.data is not None and np.ndim(hdu.data) == 2:
                    return np.array(hdu.data, dtype=float), hdu.header.copy()
    except (OSError, ValueError, TypeError) as exc:
        raise InputFileError(f"cannot read {what} {str(path)!r} as FITS ({exc})",
                             **where) from None
    raise InputFileError(f"{what} {str(path)!r} holds no 2-D image", **where)


def read_mask(path, shape, *, feedme=None, line=None):
    """Boolean bad-pixel mask (True = bad) from a FITS image or an ASCII ``x y`` list.

    FITS: every non-zero pixel is bad (GALFIT and imfit). ASCII: one 1-based
    ``x y`` pixel per line (GALFIT's coordinate list).
    """
    path = Path(path)
    where = dict(path=feedme or path, line=line)
    if not path.is_file():
        raise InputFileError(f"mask {str(path)!r} not found", **where)
    if path.suffix.lower() in (".fits", ".fit", ".fts", ".gz") or _is_fits(path):
        array, _ = read_fits_image(path, "mask", feedme=feedme, line=line)
        if array.shape != tuple(shape):
            raise InvalidImageError(f"mask {path.name!r} has shape {array.shape}, the data "
                                    f"image {tuple(shape)}")
        return np.where(np.isfinite(array), array, 1.0) != 0
    mask = np.zeros(shape, dtype=bool)
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        tokens = raw.split("#", 1)[0].split()
        if not tokens:
            continue
        try:
            x, y = int(round(float(tokens[0]))), int(round(float(tokens[1])))
        except (IndexError, ValueError):
            raise InputFileError(f"mask list: expected 'x y', got {raw.strip()!r}", path,
                                 number) from None
        if not (1 <= x <= shape[1] and 1 <= y <= shape[0]):
            raise InputFileError(f"mask list: pixel ({x}, {y}) is outside the "
                                 f"{shape[1]} x {shape[0]} image", path, number)
        mask[y - 1, x - 1] = True
    return mask


def _is_fits(path):
    with open(path, "rb") as handle:
        return handle.read(6) == b"SIMPLE"


def sigma_from_image(data, header=None, *, sky=None):
    """A sigma image from the data, as GALFIT makes one when ``C) none``.

    Poisson noise of the source counts (``GAIN`` or ``ATODGAIN`` and
    ``NCOMBINE`` from the header; GALFIT's defaults 7 and 1 when missing)
    plus the background noise measured from the data (sigma-clipped RMS, which
    includes read noise and the sky's Poisson noise, as GALFIT does).
    """
    header = header if header is not None else fits.Header()
    gain = float(header.get("GAIN", header.get("ATODGAIN", 7.0)))
    ncombine = float(header.get("NCOMBINE", 1.0))
    finite = np.isfinite(data)
    _, median, rms = sigma_clipped_stats(data[finite], sigma=3.0, maxiters=10)
    background = median if sky is None else sky
    rms = rms if rms > 0 else 1.0
    source = np.clip(np.where(finite, data, background) - background, 0.0, None)
    return np.sqrt(source / (gain * ncombine) + rms**2)


def _cut(array, region):
    x1, x2, y1, y2 = region
    return array[y1 - 1:y2, x1 - 1:x2]


def load_fit_inputs(setup):
    """Load and check the images a `~galfitax.io.GalfitSetup` names.

    Returns
    -------
    FitInputs
        Arrays cut to the ``H)`` region; non-finite data pixels are masked.

    Raises
    ------
    InputFileError
        A file is missing or unreadable, or the region lies outside the image.
    InvalidImageError
        No finite data pixel, sigma or mask of the wrong shape, non-positive sigma.
    InvalidPSFError
        PSF larger than the fitting region, or not finite.
    """
    lines = setup.lines
    feedme = setup.path
    data, header = read_fits_image(setup.resolve(setup.data), "data image", feedme=feedme,
                                   line=lines.get("A"))
    shape = data.shape
    region = setup.region or (1, shape[1], 1, shape[0])
    x1, x2, y1, y2 = region
    if x2 > shape[1] or y2 > shape[0]:
        raise InputFileError(f"H) region {region} extends beyond the {shape[1]} x {shape[0]} "
                             f"data image", feedme, lines.get("H"))
    finite = np.isfinite(data)
    if not finite[y1 - 1:y2, x1 - 1:x2].any():
        raise InvalidImageError(f"data image {setup.data!r} has no finite pixel in the fitting "
                                f"region (all NaN/inf)")
    mask = ~finite
    if setup.mask is not None:
        mask |= read_mask(setup.resolve(setup.mask), shape, feedme=feedme, line=lines.get("F"))
    if setup.sigma is not None:
        sigma, _ = read_fits_image(setup.resolve(setup.sigma), "sigma image", feedme=feedme,
                                   line=lines.get("C"))
        if sigma.shape != shape:
            raise InvalidImageError(f"sigma image {setup.sigma!r} has shape {sigma.shape}, the "
                                    f"data image {shape}")
        bad_sigma = ~(np.isfinite(sigma) & (sigma > 0))
        mask |= bad_sigma
        sigma = np.where(bad_sigma, np.inf, sigma)
    else:
        sigma = sigma_from_image(np.where(mask, np.nan, data), header)
    psf = None
    if setup.psf is not None:
        psf, _ = read_fits_image(setup.resolve(setup.psf), "PSF image", feedme=feedme,
                                 line=lines.get("D"))
        if not np.all(np.isfinite(psf)):
            raise InvalidPSFError(f"PSF image {setup.psf!r} has non-finite pixels")
        ny, nx = (np.array(psf.shape) / setup.psf_sampling).astype(int)
        if ny > y2 - y1 + 1 or nx > x2 - x1 + 1:
            raise InvalidPSFError(
                f"PSF image {setup.psf!r} ({psf.shape[1]} x {psf.shape[0]} at sampling "
                f"{setup.psf_sampling}) is larger than the {x2 - x1 + 1} x {y2 - y1 + 1} "
                f"fitting region")
    mask = _cut(mask, region)
    if mask.all():
        raise InvalidImageError("every pixel of the fitting region is masked")
    y, x = np.mgrid[y1 - 1:y2, x1 - 1:x2].astype(float)
    return FitInputs(data=np.where(mask, 0.0, _cut(data, region)),
                     sigma=np.where(mask, 1.0, _cut(sigma, region)), mask=mask, psf=psf,
                     x=x, y=y, region=tuple(region), header=header,
                     exptime=float(header.get("EXPTIME", 1.0) or 1.0),
                     psf_sampling=int(setup.psf_sampling))
