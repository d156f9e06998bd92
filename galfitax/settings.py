"""Accuracy settings for rendering models, held in one immutable object."""

from dataclasses import dataclass, fields

from galfitax.exceptions import InvalidParameterError

__all__ = ["IntegrationSettings", "DEFAULT_SETTINGS"]


@dataclass(frozen=True)
class IntegrationSettings:
    """Accuracy knobs of the pixel integration, in one hashable object.

    A model pixel value is the integral of the surface brightness over the
    pixel. galfitax computes it in two parts:

    * every pixel is integrated with a ``subsampling`` x ``subsampling``
      Gauss-Legendre rule, which is accurate where the profile is smooth on
      the pixel scale;
    * the ``patch_size`` x ``patch_size`` pixels around each component's
      centre, where cusps and steep cores live, are integrated *exactly*
      for elliptical profiles: the integral over a rectangle with a corner on
      the centre is reduced to a 1-D angular integral of the profile's
      enclosed-flux function (closed form for Sersic, exponential, Gaussian
      and Moffat; ``radial_quadrature`` Gauss-Legendre nodes otherwise),
      evaluated with ``patch_quadrature`` nodes per triangle. Pixel values
      are differences of these corner integrals, so total flux is conserved
      to rounding error inside the patch. Non-elliptical profiles (edge-on
      disk) use ``patch_subsampling`` Gauss-Legendre nodes per axis there.

    Parameters
    ----------
    subsampling : int
        Gauss-Legendre nodes per axis in every pixel (1 = centre sampling).
    patch_size : int
        Side, in pixels, of the exactly integrated patch around each centre
        (odd, >= 1).
    patch_quadrature : int
        Angular Gauss-Legendre nodes per triangle in the exact patch.
    radial_quadrature : int
        Radial Gauss-Legendre nodes for profiles whose enclosed flux has no
        closed form (Ferrers, King, Nuker, core-Sersic, broken exponential).
    patch_subsampling : int
        Gauss-Legendre nodes per axis in the patch for non-elliptical
        profiles.

    Examples
    --------
    >>> from galfitax import IntegrationSettings
    >>> fast = IntegrationSettings(subsampling=1, patch_size=5)
    >>> fast.subsampling
    1
    >>> hash(fast) == hash(IntegrationSettings(subsampling=1, patch_size=5))
    True
    """

    subsampling: int = 3
    patch_size: int = 9
    patch_quadrature: int = 24
    radial_quadrature: int = 48
    patch_subsampling: int = 8

    def __post_init__(self):
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidParameterError(
                    f"IntegrationSettings.{field.name} must be a positive integer, "
                    f"got {value!r}"
                )
        if self.patch_size % 2 != 1:
            raise InvalidParameterError(
                f"IntegrationSettings.patch_size must be odd, got {self.patch_size}"
            )


DEFAULT_SETTINGS = IntegrationSettings()
