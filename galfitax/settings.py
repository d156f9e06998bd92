"""Accuracy settings for rendering models, held in one immutable object."""

from dataclasses import dataclass, fields

from galfitax.exceptions import InvalidParameterError

__all__ = ["IntegrationSettings", "DEFAULT_SETTINGS"]


@dataclass(frozen=True)
class IntegrationSettings:
    """Accuracy knobs of the pixel integration, in one hashable object.

    A model pixel value is the integral of the surface brightness over the
    pixel. galfitax computes it in nested regions around each component's
    centre, each a window of fixed size that moves with the centre (so the
    compiled program never changes while a fit moves it):

    * pixels beyond the ``outer_size`` x ``outer_size`` window (the
      outskirts) of a profile that is smooth there (Sersic, exponential,
      Gaussian, Moffat) are, with
      ``corrected_outskirts``, one sample at the pixel centre plus a
      finite-difference correction for the curvature across the pixel: the
      pixel mean ``f + d2/24 - 17/5760 d4`` per axis, from the second and
      fourth differences ``d2, d4`` of the centre samples (error of sixth
      order in the pixel size over the profile's scale, the cost of centre
      sampling: 4x cheaper than 2 x 2 nodes). Otherwise, and for profiles
      with a sharp edge, a possibly sharp break or a thin disk (Ferrers,
      King, broken exponential, Nuker, core-Sersic, edge-on disk), every
      pixel is integrated with an
      ``outer_subsampling`` x ``outer_subsampling`` Gauss-Legendre rule;
    * the ``outer_size`` x ``outer_size`` pixels around the centre with
      ``outer_subsampling`` x ``outer_subsampling`` nodes (2 x 2 by default:
      exact for cubic variations across the pixel; 1 = centre sampling, as
      GALFIT and imfit do away from the centre, which misses the pixel-scale
      curvature of thin, flattened profiles by up to ~1e-3 of the peak);
    * the ``subsampled_size`` x ``subsampled_size`` pixels around the centre
      with ``subsampling`` x ``subsampling`` nodes;
    * the ``patch_size`` x ``patch_size`` pixels around the centre, where
      cusps and steep cores live, are integrated *exactly* for elliptical
      profiles: the flux in a rectangle with a corner on the centre is a 1-D
      integral, along the rectangle's far edges, of the profile's
      enclosed-flux function (closed form for Sersic, exponential, Gaussian
      and Moffat; ``radial_quadrature`` Gauss-Legendre nodes otherwise),
      evaluated in coordinates where the isophotes are circles with
      ``patch_quadrature`` nodes per edge. Pixel values are differences of
      these corner integrals, so flux is conserved to rounding error inside
      the patch. Non-elliptical profiles (edge-on disk) use
      ``patch_subsampling`` Gauss-Legendre nodes per axis there.

    Measured accuracy of the defaults (``tests/test_integration_accuracy.py``),
    Sersic ``0.5 <= n <= 8``, ``0.5 <= r_eff <= 20`` pixels, axis ratio
    ``q >= 0.2``, any sub-pixel centre: pixel values within 3e-5 of the peak
    of a converged brute-force quadrature (and of GalSim's pixel-convolved
    images for ``n <= 2``, Gaussian and Moffat); total flux within 2e-5
    (relative) of the exact flux in the frame. The largest errors come from
    the Gauss-Legendre rules just outside the exact patch for flattened
    profiles (the corrected outskirts stay below 1e-5 of the peak beyond
    the default 31 x 31 window); for ``q < 0.2`` with a minor axis below a
    pixel raise ``patch_size``, ``subsampling`` and ``outer_size``.

    Parameters
    ----------
    subsampling : int
        Gauss-Legendre nodes per axis in the pixels of the
        ``subsampled_size`` window.
    subsampled_size : int
        Side, in pixels, of the window around each centre integrated with
        ``subsampling`` nodes (odd, >= 1).
    outer_subsampling : int
        Gauss-Legendre nodes per axis in every other pixel (1 = centre
        sampling).
    patch_size : int
        Side, in pixels, of the exactly integrated patch around each centre
        (odd, >= 1).
    patch_quadrature : int
        Gauss-Legendre nodes along each edge of the exact patch's triangles.
    radial_quadrature : int
        Radial Gauss-Legendre nodes for profiles whose enclosed flux has no
        closed form (Ferrers, King, Nuker, core-Sersic, broken exponential).
    patch_subsampling : int
        Gauss-Legendre nodes per axis in the patch for non-elliptical
        profiles.
    outer_size : int
        Side, in pixels, of the window around each centre integrated with
        ``outer_subsampling`` nodes when the outskirts beyond it are
        corrected centre samples (odd, >= 1).
    corrected_outskirts : bool
        Whether pixels beyond the ``outer_size`` window of smooth profiles
        are corrected centre samples (True) or ``outer_subsampling``
        Gauss-Legendre integrals like the window (False).

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
    subsampled_size: int = 21
    outer_subsampling: int = 2
    patch_size: int = 9
    patch_quadrature: int = 16
    radial_quadrature: int = 48
    patch_subsampling: int = 8
    outer_size: int = 31
    corrected_outskirts: bool = True

    def __post_init__(self):
        if not isinstance(self.corrected_outskirts, bool):
            raise InvalidParameterError(
                "IntegrationSettings.corrected_outskirts must be True or False, "
                f"got {self.corrected_outskirts!r}")
        for field in fields(self):
            if field.name == "corrected_outskirts":
                continue
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidParameterError(
                    f"IntegrationSettings.{field.name} must be a positive integer, "
                    f"got {value!r}"
                )
        for name in ("patch_size", "subsampled_size", "outer_size"):
            if getattr(self, name) % 2 != 1:
                raise InvalidParameterError(
                    f"IntegrationSettings.{name} must be odd, got {getattr(self, name)}"
                )


DEFAULT_SETTINGS = IntegrationSettings()
