"""Recognise regular pixel grids in the ``x, y`` arrays astropy models receive."""

from dataclasses import dataclass

import numpy as np

from galfitax.exceptions import InvalidImageError

__all__ = ["PixelGrid", "detect_grid", "grid_for_shape"]


@dataclass(frozen=True)
class PixelGrid:
    """A regular grid: pixel ``[j, i]`` is centred on ``(x_start + h i, y_start + h j)``."""

    x_start: float
    y_start: float
    h: float
    shape: tuple

    def coordinates(self):
        """``(x, y)`` arrays of pixel centres, each of ``shape``."""
        ny, nx = self.shape
        y, x = np.mgrid[0:ny, 0:nx].astype(float)
        return self.x_start + self.h * x, self.y_start + self.h * y


def grid_for_shape(shape, origin=(0.0, 0.0), h=1.0):
    """The unit grid of an image of ``shape`` (0-based pixel centres, astropy convention)."""
    ny, nx = (int(v) for v in shape)
    if ny < 1 or nx < 1:
        raise InvalidImageError(f"image shape must be positive, got {tuple(shape)}")
    return PixelGrid(float(origin[0]), float(origin[1]), float(h), (ny, nx))


def detect_grid(x, y, rtol=1e-9):
    """Return the `PixelGrid` that ``x, y`` sample, or None if they are not a regular grid.

    ``x`` and ``y`` must be 2-D arrays of equal shape with ``x`` varying along
    columns and ``y`` along rows with one common spacing, as from
    ``numpy.mgrid`` or ``numpy.indices``.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 2 or x.shape != y.shape or x.size == 0:
        return None
    ny, nx = x.shape
    if nx > 1:
        h = float(x[0, 1] - x[0, 0])
    elif ny > 1:
        h = float(y[1, 0] - y[0, 0])
    else:
        h = 1.0
    if not np.isfinite(h) or h <= 0:
        return None
    x_start, y_start = float(x[0, 0]), float(y[0, 0])
    scale = max(abs(x_start), abs(y_start), h * max(nx, ny), 1.0)
    expected_x = x_start + h * np.arange(nx)
    expected_y = y_start + h * np.arange(ny)
    if not (np.allclose(x, expected_x[None, :], rtol=0, atol=rtol * scale)
            and np.allclose(y, expected_y[:, None], rtol=0, atol=rtol * scale)):
        return None
    return PixelGrid(x_start, y_start, h, (ny, nx))
