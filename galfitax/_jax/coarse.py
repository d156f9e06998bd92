"""A fit problem on 2 x 2-binned pixels, for a cheap first approach to the solution.

Large images make every model evaluation expensive (an FFT convolution of a
grid the size of the image for each Jacobian column), and a fit from a rough
start spends most of its evaluations getting close. The same problem on
pixels twice as large costs about a quarter per evaluation and has nearly
the same solution, so :class:`galfitax.LevMarFitter` first fits that (see its
``coarse_start``), then starts the full-resolution fit from the result: the
full fit only polishes, and its minimum is the full-resolution one.

The binned problem keeps the parameters and their units (model coordinates),
so bounds, ties and the fixed values apply unchanged; what changes is

* the grid: pixels of side ``2 h`` centred between the original pixels
  (``x_start + h / 2``), covering the image's even part (an odd last row or
  column is left out);
* the data: sums of 2 x 2 blocks; for chi2 the weight ``1 / sigma`` of a sum
  ``1 / sqrt(sum sigma**2)``, for Cash the 0/1 weight; a block with a masked
  pixel is masked; the sky of the Cash statistic (per pixel) times 4;
* each PSF convolution node: the kernel resampled to the larger pixels
  (:func:`bin_kernel`) and the margin halved.

The binned model is close to the block sums of the full one, not equal to
them (the model is integrated over the larger pixels, and the resampled PSF
is exact only for a band-limited one), which is all a starting point needs.

Only plans of profiles, arithmetic and PSF convolution are binned; anything
else (:func:`coarse_problem` returns ``None``) is fitted at full resolution
directly.
"""

import math

import numpy as np

from galfitax._jax.objective import TermData, TermSpec
from galfitax.psf.kernels import _rebuild_kernel

__all__ = ["COARSE_FACTOR", "bin_kernel", "coarse_plan", "coarse_problem"]

COARSE_FACTOR = 2
"""Pixels per side of one binned pixel."""

# least fraction of the unmasked pixels that the binned problem must keep
_MIN_KEPT = 0.5


def bin_kernel(kernel):
    """The PSF kernel resampled to image pixels twice as large (same samples per pixel).

    A coarse pixel is two image pixels wide: its pixel-integrated PSF is the
    fine one's at half a pixel either side, summed, ``PRF_2(x) = PRF(x - 1/2)
    + PRF(x + 1/2)`` along each axis (a factor ``2 cos(pi k)`` in Fourier
    space, applied with a real FFT, which interpolates between samples), read
    every second sample from the centre and normalised to unit sum. That is
    the kernel for ``"integrated"`` PSFs. ``"sampled"`` PSFs (values at
    points) and ``"galfit"`` ones (applied as given to the model's pixel
    integrals) are read every second sample and normalised.

    Parameters
    ----------
    kernel : galfitax.psf.PSFKernel

    Returns
    -------
    galfitax.psf.PSFKernel
        Odd-sized, centred, same ``oversampling`` and ``pixel_response``.

    Examples
    --------
    >>> import numpy as np
    >>> from galfitax.psf import PSFKernel
    >>> from galfitax._jax.coarse import bin_kernel
    >>> y, x = np.mgrid[-9:10, -9:10]
    >>> psf = np.exp(-(x**2 + y**2) / 8.0)
    >>> kernel = PSFKernel(psf / psf.sum())
    >>> bin_kernel(kernel).shape
    (11, 11)
    """
    factor = kernel.oversampling
    integrated = kernel.pixel_response == "integrated"
    # samples from the centre to the edge: the wider box reaches half a pixel farther
    reach = (factor + 1) // 2 if integrated else 0
    halves = kernel.half_size
    coarse_halves = tuple((half + reach + 1) // 2 for half in halves)
    # room for the coarse samples and for the interpolation's periodic wrap
    margins = [2 * c - h + 2 * factor + 2 for c, h in zip(coarse_halves, halves)]
    array = np.pad(np.asarray(kernel.array, dtype=float), [(m, m) for m in margins])
    if integrated:
        spectrum = np.fft.rfft2(array)
        freq_y = np.fft.fftfreq(array.shape[0])[:, None]
        freq_x = np.fft.rfftfreq(array.shape[1])[None, :]
        spectrum *= (2.0 * np.cos(np.pi * factor * freq_y)
                     * 2.0 * np.cos(np.pi * factor * freq_x))
        array = np.fft.irfft2(spectrum, s=array.shape)
    centre_y, centre_x = (h + m for h, m in zip(halves, margins))
    cy, cx = coarse_halves
    binned = array[centre_y - 2 * cy:centre_y + 2 * cy + 1:2,
                   centre_x - 2 * cx:centre_x + 2 * cx + 1:2]
    # built from a validated kernel: no second validation (nor its warnings) during a fit
    return _rebuild_kernel(binned / binned.sum(), factor, kernel.pixel_response)


def coarse_plan(plan):
    """The render plan on binned pixels, or ``None`` if it holds a node this cannot bin."""
    node = plan[0]
    if node == "leaf":
        return plan
    if node == "op":
        left, right = coarse_plan(plan[2]), coarse_plan(plan[3])
        if left is None or right is None:
            return None
        return ("op", plan[1], left, right)
    if node == "conv":
        _, kernel, pad, extended, points, sky, pixel = plan
        return ("conv", bin_kernel(kernel), int(math.ceil(pad / COARSE_FACTOR)), extended,
                points, sky, pixel * COARSE_FACTOR)
    return None


def _block_sums(array, shape):
    ny, nx = shape
    f = COARSE_FACTOR
    return array[:ny * f, :nx * f].reshape(ny, f, nx, f).sum(axis=(1, 3))


def _coarse_weight(weight, shape, statistic):
    f = COARSE_FACTOR
    ny, nx = shape
    blocks = weight[:ny * f, :nx * f].reshape(ny, f, nx, f)
    masked = np.any(blocks <= 0, axis=(1, 3))
    if statistic == "cash":
        return np.where(masked, 0.0, 1.0)
    safe = np.where(blocks > 0, blocks, 1.0)
    variance = np.sum(1.0 / (safe * safe), axis=(1, 3))
    return np.where(masked, 0.0, 1.0 / np.sqrt(variance))


def coarse_problem(spec, term, statistic):
    """``(TermSpec, TermData)`` of one image term on binned pixels, or ``None``.

    ``None`` when the plan cannot be binned (see :func:`coarse_plan`), the
    binned image would have fewer than 2 pixels along an axis, a binned PSF
    would not fit in it, or masking every block that holds a masked pixel
    would lose more than half of the unmasked pixels (scattered bad pixels).
    """
    plan = coarse_plan(spec.plan)
    shape = tuple(n // COARSE_FACTOR for n in spec.shape)
    if plan is None or min(shape) < 2 or not _kernels_fit(plan, shape):
        return None
    h = spec.h * COARSE_FACTOR
    data = np.asarray(term.data, dtype=float)
    weight = np.asarray(term.weight, dtype=float)
    coarse_weight = _coarse_weight(weight, shape, statistic)
    kept = COARSE_FACTOR**2 * np.count_nonzero(coarse_weight > 0)
    if kept < _MIN_KEPT * np.count_nonzero(weight > 0):
        return None
    centre_shift = 0.5 * (h - spec.h)
    coarse_term = TermData(
        data=_block_sums(data, shape), weight=coarse_weight,
        x_start=np.float64(term.x_start + centre_shift),
        y_start=np.float64(term.y_start + centre_shift),
        sky=np.float64(term.sky * COARSE_FACTOR**2))
    return TermSpec(plan, shape, h, spec.index), coarse_term


def _kernels_fit(plan, shape):
    if plan[0] == "op":
        return _kernels_fit(plan[2], shape) and _kernels_fit(plan[3], shape)
    if plan[0] == "conv":
        return all(extent <= n for extent, n in zip(plan[1].extent, shape))
    return True
