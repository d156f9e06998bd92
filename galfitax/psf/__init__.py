"""PSF kernels: photutils PSF models, arrays and FITS files made ready for convolution."""

from galfitax.psf.kernels import PIXEL_RESPONSES, PSFKernel, make_kernel
from galfitax.psf.validation import centre_index, validate_psf_array

__all__ = ["PIXEL_RESPONSES", "PSFKernel", "centre_index", "make_kernel", "validate_psf_array"]
