"""PSF inputs (photutils models, arrays, FITS) and the error gallery of bad PSFs."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import NDData
from photutils.psf import CircularGaussianPRF, GriddedPSFModel, ImagePSF, MoffatPSF
from scipy.integrate import dblquad

import galfitax
from galfitax import PSFConvolvedModel
from galfitax.exceptions import (
    InputFileError,
    InvalidParameterError,
    InvalidPSFError,
    PSFCorrectionWarning,
)
from galfitax.psf import PSFKernel, centre_index, make_kernel


def gaussian_prf_image(half, fwhm=2.5, oversampling=1):
    y, x = np.mgrid[-half:half + 1, -half:half + 1] / oversampling
    return CircularGaussianPRF(fwhm=fwhm)(x, y)


def test_prf_model_is_sampled_at_pixel_centres():
    kernel = make_kernel(CircularGaussianPRF(fwhm=2.5, x_0=3.0, y_0=-2.0), psf_shape=15)
    expected = gaussian_prf_image(7)
    np.testing.assert_allclose(kernel.array, expected / expected.sum(), rtol=1e-12)
    assert kernel.pixel_response == "integrated"
    assert kernel.oversampling == 1


def test_psf_model_is_integrated_over_pixels():
    moffat = MoffatPSF(alpha=2.0, beta=2.5)
    kernel = make_kernel(moffat, psf_shape=(9, 11))
    assert kernel.shape == (9, 11)
    # independent quadrature of the central and a corner pixel, relative to each other
    def pixel(dx, dy):
        return dblquad(lambda y, x: moffat(x, y), dx - 0.5, dx + 0.5, dy - 0.5, dy + 0.5,
                       epsabs=1e-13)[0]
    ratio = kernel.array[0, 0] / kernel.array[4, 5]
    assert ratio == pytest.approx(pixel(-5, -4) / pixel(0, 0), rel=1e-9)


def test_psf_model_can_be_point_sampled():
    from photutils.psf import CircularGaussianPSF

    psf = CircularGaussianPSF(fwhm=3.0)
    kernel = make_kernel(psf, psf_shape=11, oversampling=2, pixel_response="sampled")
    y, x = np.mgrid[-11:12, -11:12] / 2.0
    expected = psf(x, y)
    np.testing.assert_allclose(kernel.array, expected / expected.sum(), rtol=1e-12)
    with pytest.raises(InvalidPSFError, match="does not apply"):
        make_kernel(CircularGaussianPRF(fwhm=3.0), pixel_response="sampled")


def test_default_model_box_covers_four_fwhm():
    from photutils.psf import CircularGaussianPSF

    for fwhm in (2.0, 5.0):
        for oversampling in (1, 2):
            kernel = make_kernel(CircularGaussianPSF(fwhm=fwhm), oversampling=oversampling)
            half = kernel.half_size[0] / oversampling
            assert kernel.shape[0] == kernel.shape[1]
            assert 4 * fwhm <= half <= 4 * fwhm + 2
    assert make_kernel(CircularGaussianPSF(fwhm=30.0)).shape == (65, 65)  # capped


def test_image_psf_keeps_its_native_sampling():
    data = gaussian_prf_image(20, oversampling=4)
    kernel = make_kernel(ImagePSF(data, oversampling=4))
    assert kernel.oversampling == 4
    np.testing.assert_allclose(kernel.array, data / data.sum(), atol=1e-12)
    assert make_kernel(ImagePSF(data, oversampling=4), oversampling=2).shape == (21, 21)


def test_gridded_psf_model_is_evaluated_at_the_galaxy():
    narrow, wide = gaussian_prf_image(10, fwhm=2.0), gaussian_prf_image(10, fwhm=4.0)
    nddata = NDData(np.array([narrow, wide, narrow, wide]),
                    meta={"grid_xypos": [(0, 0), (100, 0), (0, 100), (100, 100)],
                          "oversampling": 1})
    gridded = GriddedPSFModel(nddata)
    galaxy = galfitax.Gaussian2D(flux=1.0, fwhm=3.0, x_0=25.0, y_0=40.0)
    conv = PSFConvolvedModel(galaxy, gridded)
    expected = 0.75 * narrow + 0.25 * wide  # bilinear interpolation at x = 25
    np.testing.assert_allclose(conv.kernel.array, expected / expected.sum(), atol=1e-10)
    moved = PSFConvolvedModel(galaxy, gridded, psf_position=(100.0, 50.0))
    np.testing.assert_allclose(moved.kernel.array, wide / wide.sum(), atol=1e-10)
    with pytest.raises(InvalidPSFError, match="needs the position"):
        PSFConvolvedModel(galfitax.FlatSky(amplitude=1.0), gridded)


def test_fits_file_equals_array(tmp_path):
    data = (300.0 * gaussian_prf_image(6)).astype(np.float32)  # a star, not normalised
    path = tmp_path / "psf.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, name="PSF")]).writeto(path)
    with pytest.warns(PSFCorrectionWarning, match="divided by its sum"):
        from_file = make_kernel(path, hdu="PSF")
    with pytest.warns(PSFCorrectionWarning, match="divided by its sum"):
        from_array = make_kernel(data)
    assert from_file == from_array and hash(from_file) == hash(from_array)
    with pytest.raises(InputFileError, match="psf.fits"):
        make_kernel(str(path), hdu=5)
    with pytest.raises(InputFileError, match="missing.fits"):
        make_kernel(str(tmp_path / "missing.fits"))


def test_unnormalised_psf_is_corrected_or_rejected():
    psf = 7.0 * gaussian_prf_image(5)
    with pytest.warns(PSFCorrectionWarning, match="divided by its sum"):
        kernel = PSFKernel(psf)
    assert kernel.array.sum() == pytest.approx(1.0, abs=1e-14)
    with pytest.raises(InvalidPSFError, match="not 1"):
        PSFKernel(psf, normalize=False)


@pytest.mark.parametrize("bad, message", [
    (np.full((5, 5), np.nan), "25 NaN"),
    (np.where(np.eye(7, dtype=bool), np.nan, 1.0 / 42), "7 NaN and 0 infinite"),
    (np.zeros((5, 5)), "sums to 0.0"),
    (-np.ones((5, 5)) / 25, "positive total"),
    (np.ones(5) / 5, "ndim=1"),
    (np.ones((2, 5, 5)) / 50, "ndim=3"),
    (np.ones((0, 5)), "empty"),
    ([["a", "b"]], "array of numbers"),
], ids=["all-nan", "some-nan", "zero-sum", "negative-sum", "1-d", "3-d", "empty", "strings"])
def test_bad_psf_arrays_raise(bad, message):
    with pytest.raises(InvalidPSFError, match=message):
        PSFKernel(bad)


def test_bad_options_raise():
    psf = gaussian_prf_image(5)
    psf = psf / psf.sum()
    with pytest.raises(InvalidPSFError, match="pixel_response"):
        make_kernel(psf, pixel_response="box")
    with pytest.raises(InvalidPSFError, match="differs from psf_oversampling"):
        make_kernel(psf, oversampling=2, psf_oversampling=3)
    with pytest.raises(InvalidPSFError, match="differs from psf_oversampling=1"):
        make_kernel(psf, oversampling=2)  # an image-sampled array cannot be used 2x finer
    # image-sampled arrays are used as GALFIT/imfit use them, unless told they are PRFs
    assert make_kernel(psf).pixel_response == "galfit"
    assert make_kernel(psf, pixel_response="integrated").pixel_response == "integrated"
    fine_psf = gaussian_prf_image(10, oversampling=2)
    fine = make_kernel(fine_psf / fine_psf.sum(), psf_oversampling=2)
    assert (fine.oversampling, fine.pixel_response) == (2, "sampled")
    with pytest.raises(InvalidPSFError, match="oversampling must be a positive integer"):
        make_kernel(psf, oversampling=1.5)
    with pytest.raises(InvalidPSFError, match="psf_shape applies to PSF models"):
        make_kernel(psf, psf_shape=5)
    with pytest.raises(InvalidPSFError, match="psf_oversampling describes PSF arrays"):
        make_kernel(CircularGaussianPRF(fwhm=2.0), psf_oversampling=2)
    kernel = PSFKernel(psf)
    assert make_kernel(kernel) is kernel
    with pytest.raises(InvalidPSFError, match="has oversampling 1"):
        make_kernel(kernel, oversampling=2)
    with pytest.raises(InvalidParameterError, match="pad"):
        PSFConvolvedModel(galfitax.PointSource2D(), kernel, pad=-1)
    with pytest.raises(AttributeError, match="immutable"):
        kernel.oversampling = 2


def test_off_centre_psf_warns():
    psf = np.zeros((9, 9))
    psf[1, 1] = 1.0
    with pytest.warns(PSFCorrectionWarning, match="peak is at"):
        PSFKernel(psf)


def test_even_psf_is_centred_at_size_over_two():
    """An even PSF is the odd one of the same function without its last row and column."""
    odd = gaussian_prf_image(8)  # 17 x 17, centre (8, 8)
    even = odd[:-1, :-1]  # 16 x 16: the centre stays at index 8 = 16 // 2
    assert centre_index(16) == centre_index(17) == 8
    with pytest.warns(PSFCorrectionWarning, match="even size"):
        even_kernel = PSFKernel(even / even.sum())
    assert even_kernel.shape == (17, 17)
    point = galfitax.PointSource2D(flux=100.0, x_0=16.3, y_0=15.6)
    y, x = np.mgrid[0:32, 0:32]
    from_odd = PSFConvolvedModel(point, odd / odd.sum())(x, y)
    from_even = PSFConvolvedModel(point, even_kernel)(x, y)
    # same centre: the images agree up to the PSF edge row/column dropped (~1e-10)
    np.testing.assert_allclose(from_even, from_odd, rtol=0, atol=1e-8 * from_odd.max())
    assert np.unravel_index(np.argmax(from_even), from_even.shape) == (16, 16)


def test_psf_larger_than_image_raises():
    kernel = PSFKernel(gaussian_prf_image(12))  # 25 x 25
    conv = PSFConvolvedModel(galfitax.PointSource2D(flux=1.0, x_0=8.0, y_0=8.0), kernel)
    y, x = np.mgrid[0:16, 0:30]
    with pytest.raises(InvalidPSFError, match="larger than the 16 x 30 image"):
        conv(x, y)
