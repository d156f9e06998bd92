r"""FFT convolution of a render plan with a PSF kernel (the ``"conv"`` plan node).

Node format (registered in :data:`galfitax._jax.render.NODE_RENDERERS`)::

    ("conv", kernel, pad, extended, points, sky, pixel)

``kernel``
    a hashable `galfitax.psf.PSFKernel`: odd-sized unit-sum image
    ``kernel.array`` with ``kernel.oversampling`` samples per image pixel and
    ``kernel.pixel_response`` (``"integrated"``, ``"sampled"`` or
    ``"galfit"``);
``pad``
    the convolution box margin, in image pixels, on every side;
``extended``
    sub-plan of everything convolved by rendering (``None`` if empty);
``points``
    tuple of ``(sign, leaf)`` for point-source leaves (``+1.0`` or
    ``-1.0``), added in Fourier space as the shifted PSF;
``sky``
    sub-plan of the sky leaves (``flat_sky``, ``tilted_sky``), added
    unconvolved on the image grid (``None`` if empty);
``pixel``
    the side of the kernel's image pixel in model coordinates: 1 for
    every model (PSFs are given in image pixels), 2 for the binned
    problem of a coarse first fit (:mod:`galfitax._jax.coarse`).

The output grid must have pixels of that side (``h == pixel``). With ``F``
the oversampling and ``delta = h / F``, the extended part is rendered as
``delta``-pixel integrals on a fine grid that tiles the image pixels and
extends ``pad`` image pixels beyond every edge (so light from just outside
the frame scatters in), transformed with a real FFT of a fast (5-smooth)
size large enough that nothing wraps around, multiplied by the kernel
transform (a numpy constant computed once per kernel, pad and shape at
trace time), transformed back and brought to image pixels:

* ``"integrated"`` / ``"sampled"``: the kernel becomes the pixel response
  function ``PRF = PSF * pixel`` (a ``"sampled"`` kernel is multiplied by the
  pixel transform ``sinc(k_x) sinc(k_y)``); the fine-pixel response of the
  rendered model is divided out (``sinc(k delta)``, bounded below by
  ``2 / pi`` within the band) and the result is read at the image pixel
  centres. For a smooth PSF this is the exact pixel integral of
  ``model * PSF``; with ``F = 1`` and an ``"integrated"`` kernel it differs
  from GALFIT only by not counting the pixel twice.
* ``"galfit"``: model pixel integrals convolved with the kernel as given and
  summed over ``F x F`` blocks, as GALFIT and imfit do.

Point sources add ``sign * flux * exp(-2 pi i k . x_0)`` times the PRF
transform (the PSF shifted with sub-pixel accuracy by band-limited
interpolation); those whose PSF cannot reach the frame are dropped.
"""

import functools

import jax.numpy as jnp
import numpy as np
from scipy.fft import next_fast_len

from galfitax._jax.render import NODE_RENDERERS, leaf_params, render_plan_grid
from galfitax.exceptions import InvalidModelError, InvalidPSFError

__all__ = ["ConvolutionGeometry", "convolution_geometry", "render_convolved"]


class ConvolutionGeometry:
    """Static sizes and Fourier constants of one (kernel, pad, image shape)."""

    def __init__(self, kernel, pad, shape, points=True):
        ny, nx = shape
        factor = kernel.oversampling
        self.factor = factor
        self.fine_pad = pad * factor
        self.fine_shape = (ny * factor + 2 * self.fine_pad, nx * factor + 2 * self.fine_pad)
        halves = kernel.half_size
        # no wrap-around into the image: the box plus the kernel's reach beyond it, and
        # for point sources, whose PSF may sit up to a kernel half-size outside the box,
        # the image plus two half-sizes
        self.fft_shape = tuple(
            next_fast_len(max(m + half - self.fine_pad,
                              m - 2 * self.fine_pad + 2 * half + 2 if points else 0),
                          real=True)
            for m, half in zip(self.fine_shape, halves))
        # the model is rendered on the whole FFT grid when the box margin covers the
        # kernel's reach: the extra samples then lie farther than the reach from every
        # image pixel (also across the periodic wrap), and rendering them is cheaper
        # than padding with zeros; a narrower margin keeps zeros beyond the box
        covered = all(self.fine_pad >= half for half in halves)
        self.render_shape = self.fft_shape if covered else self.fine_shape
        # range of fine-sample positions from which a point source's PSF reaches the frame
        self.reach = tuple((self.fine_pad - half - 1.0, m - 1 - self.fine_pad + half + 1.0)
                           for m, half in zip(self.fine_shape, halves))
        self.freq_y = np.fft.fftfreq(self.fft_shape[0])[:, None]
        self.freq_x = np.fft.rfftfreq(self.fft_shape[1])[None, :]
        self.extended_factor, self.point_factor = self._factors(kernel)

    def _kernel_transform(self, kernel):
        ly, lx = self.fft_shape
        half_y, half_x = kernel.half_size
        embedded = np.zeros((ly, lx))
        embedded[:kernel.shape[0], :kernel.shape[1]] = kernel.array
        embedded = np.roll(embedded, (-half_y, -half_x), axis=(0, 1))
        return np.fft.rfft2(embedded)

    def _factors(self, kernel):
        transform = self._kernel_transform(kernel)
        factor = self.factor
        if kernel.pixel_response == "galfit":
            return transform, transform
        # frequencies in cycles per image pixel
        k_y, k_x = self.freq_y * factor, self.freq_x * factor
        prf = factor**2 * transform
        if kernel.pixel_response == "sampled":
            prf = prf * np.sinc(k_y) * np.sinc(k_x)
        # read the image-pixel centre, (F - 1) / 2 fine samples into each block
        centre = (factor - 1) / 2.0
        shift = np.exp(2j * np.pi * centre * (self.freq_y + self.freq_x))
        fine_pixel = np.sinc(k_y / factor) * np.sinc(k_x / factor)
        return prf * shift / fine_pixel, prf * shift


@functools.lru_cache(maxsize=32)  # each holds two complex arrays of the FFT size
def convolution_geometry(kernel, pad, shape, points=True):
    """Cached `ConvolutionGeometry` (numpy, once per kernel, pad, shape and point-source use)."""
    return ConvolutionGeometry(kernel, pad, shape, points)


def _check_grid(kernel, pixel, h, shape):
    if h != pixel:
        raise InvalidModelError(
            f"a PSF-convolved model is evaluated on image pixels (grid spacing {pixel!r}), "
            f"not {h!r}")
    extent_y, extent_x = kernel.extent
    if extent_y > shape[0] or extent_x > shape[1]:
        raise InvalidPSFError(
            f"the PSF ({kernel.shape[0]} x {kernel.shape[1]} samples = {extent_y:g} x "
            f"{extent_x:g} image pixels) is larger than the {shape[0]} x {shape[1]} image; "
            "crop the PSF to at most the image size or fit a larger image")


def _point_spectrum(geometry, leaf, sign, pvec, x_fine, y_fine, delta):
    params = leaf_params(leaf, pvec)
    # in fine samples
    shift_x = (params["x_0"] - x_fine) / delta
    shift_y = (params["y_0"] - y_fine) / delta
    (lo_y, hi_y), (lo_x, hi_x) = geometry.reach
    reaches = (shift_x >= lo_x) & (shift_x <= hi_x) & (shift_y >= lo_y) & (shift_y <= hi_y)
    flux = jnp.where(reaches, sign * params["flux"], 0.0)
    phase = jnp.exp(-2j * jnp.pi * (geometry.freq_y * shift_y + geometry.freq_x * shift_x))
    return flux * phase


def render_convolved(plan, pvec, x_start, y_start, h, shape):
    """Image of a ``"conv"`` node on the image grid (see the module docstring)."""
    _, kernel, pad, extended, points, sky, pixel = plan
    _check_grid(kernel, pixel, h, shape)
    geometry = convolution_geometry(kernel, pad, tuple(shape), bool(points))
    factor, fine_pad = geometry.factor, geometry.fine_pad
    delta = h / factor
    # centre of the first fine sample: fine pixels tile the image pixels
    x_fine = x_start - 0.5 * h + 0.5 * delta - pad * h
    y_fine = y_start - 0.5 * h + 0.5 * delta - pad * h
    spectrum = jnp.zeros(geometry.extended_factor.shape, dtype=complex)
    if extended is not None:
        # render_shape: the whole FFT grid where that is safe (see ConvolutionGeometry)
        fine = render_plan_grid(extended, pvec, x_fine, y_fine, delta, geometry.render_shape)
        spectrum = jnp.fft.rfft2(fine, s=geometry.fft_shape) * geometry.extended_factor
    if points:
        point_sum = sum(_point_spectrum(geometry, leaf, sign, pvec, x_fine, y_fine, delta)
                        for sign, leaf in points)
        spectrum = spectrum + point_sum * geometry.point_factor
    ny, nx = shape
    # the inverse transform along y, then only the rows that hold image pixels along x
    # (the margin rows are never read: a third to a half less of the second pass)
    step = 1 if kernel.pixel_response == "galfit" else factor
    columns = jnp.fft.ifft(spectrum, axis=-2)[fine_pad:fine_pad + ny * factor:step, :]
    rows = jnp.fft.irfft(columns, n=geometry.fft_shape[1], axis=-1)
    if kernel.pixel_response == "galfit":
        block = rows[:, fine_pad:fine_pad + nx * factor]
        image = block.reshape(ny, factor, nx, factor).sum(axis=(1, 3))
    else:
        image = rows[:, fine_pad:fine_pad + nx * factor:factor]
    if sky is not None:
        image = image + render_plan_grid(sky, pvec, x_start, y_start, h, shape)
    return image


NODE_RENDERERS["conv"] = render_convolved
