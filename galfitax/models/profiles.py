"""The profile zoo: astropy ``Fittable2DModel`` classes evaluated with JAX.

All positions are 0-based pixel centres (astropy convention), ``theta`` is
the major-axis angle in radians counter-clockwise from +x and
``ellip = 1 - b/a``. Sersic-family and other elliptical profiles also take
the GALFIT boxy/disky exponent ``c0`` (0 = ellipse, < 0 disky, > 0 boxy;
fixed at 0 by default). Model values are pixel integrals.
"""

import numpy as np
from astropy.modeling import Parameter
from scipy.special import gamma as gamma_function
from scipy.special import gammaincinv

from galfitax.models.core import Profile2D, _check_parameters, _scalar_parameters
from galfitax.settings import IntegrationSettings

__all__ = [
    "BrokenExponential2D",
    "CoreSersic2D",
    "DeVaucouleurs2D",
    "EdgeOnDisk2D",
    "Exponential2D",
    "Ferrers2D",
    "FlatSky",
    "Gaussian2D",
    "King2D",
    "Moffat2D",
    "Nuker2D",
    "PointSource2D",
    "Sersic2D",
    "TiltedSky",
]

_POSITIVE = (0.0, None, True, False)
_ELLIP = (0.0, 1.0, False, True)
_C0 = (-1.9, None, False, False)


def _geometry():
    return dict(
        x_0=Parameter(default=0.0, description="x of the centre (0-based pixels)"),
        y_0=Parameter(default=0.0, description="y of the centre (0-based pixels)"),
        ellip=Parameter(default=0.0, bounds=(0.0, 0.99), description="ellipticity 1 - b/a"),
        theta=Parameter(default=0.0,
                        description="major-axis angle, radians counter-clockwise from +x"),
        c0=Parameter(default=0.0, fixed=True, bounds=(-1.9, 5.0),
                     description="boxy (> 0) / disky (< 0) isophote exponent, GALFIT C0"),
    )


_GEOMETRY_RANGES = {"ellip": _ELLIP, "c0": _C0}


class _CheckedProfile2D(Profile2D):
    """A profile whose parameter values are validated when it is constructed.

    Non-finite values and values outside ``_valid_ranges`` raise
    `~galfitax.exceptions.InvalidParameterError` naming the parameter at once;
    later assignments are checked when the model is evaluated (fitters and
    constraint probing may pass through such values on their way).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if len(self) != 1:  # model sets are refused, clearly, at evaluation
            return
        names = self.param_names
        pvec = _scalar_parameters(self.parameters, names)
        _check_parameters(pvec, self._galfitax_plan(0)[1], names)


class _EllipticalProfile2D(_CheckedProfile2D):
    """Profiles on (generalised) elliptical isophotes, with the boxy/disky ``c0``."""

    def _galfitax_plan(self, offset):
        plan, checks, n_params = super()._galfitax_plan(offset)
        if self.c0.fixed and not self.c0.tied and self.c0.value == 0:
            # pure ellipses (the common case) compile to the cheaper sqrt formula
            node, kind, indexed, constants, settings = plan
            indexed = tuple(item for item in indexed if item[0] != "c0")
            plan = (node, kind, indexed, constants + (("c0", 0.0),), settings)
        return plan, checks, n_params


def _elliptical_class(name, kind, doc, params, ranges):
    namespace = {"__doc__": doc, "_kind": kind, "__module__": __name__,
                 "_valid_ranges": {**ranges, **_GEOMETRY_RANGES}}
    namespace.update(params)
    namespace.update(_geometry())
    return type(name, (_EllipticalProfile2D,), namespace)


def sersic_bn(n):
    """Exact Sersic ``b_n`` (numpy): the root of ``P(2n, b_n) = 1/2``."""
    return gammaincinv(2.0 * np.asarray(n, dtype=float), 0.5)


class Sersic2D(_EllipticalProfile2D):
    r"""Sersic profile with total flux (astropy's Sersic2D with ``flux`` for ``amplitude``).

    .. math::

        I(r) = I_e \exp\{-b_n [(r / r_{eff})^{1/n} - 1]\}, \quad
        F = 2 \pi (1 - \epsilon) r_{eff}^2 I_e n e^{b_n} b_n^{-2n} \Gamma(2n)

    with ``r`` the (generalised) elliptical radius along the major axis and
    ``b_n`` exact (``P(2n, b_n) = 1/2``), so ``r_eff`` is the semi-major
    half-light radius for every ``n``. astropy's ``amplitude`` is ``I_e``:
    convert with `amplitude_from_flux` / `flux_from_amplitude`.

    Parameters
    ----------
    flux : float
        Total flux (image units x pixels).
    r_eff : float
        Semi-major-axis half-light radius, pixels.
    n : float
        Sersic index, valid range 0.2 to 10.
    x_0, y_0 : float
        Centre, 0-based pixels.
    ellip : float
        Ellipticity ``1 - b/a``.
    theta : float
        Major-axis angle, radians counter-clockwise from +x.
    c0 : float
        Boxy/disky exponent (GALFIT C0), fixed at 0 by default.

    Examples
    --------
    >>> import numpy as np
    >>> from galfitax import Sersic2D
    >>> model = Sersic2D(flux=1000.0, r_eff=5.0, n=2.0, x_0=32.0, y_0=32.0, ellip=0.3)
    >>> y, x = np.mgrid[0:64, 0:64]
    >>> image = model(x, y)
    >>> round(float(image.sum()), 1)  # flux in the 64 x 64 frame
    992.0
    """

    _kind = "sersic"
    _valid_ranges = {"r_eff": _POSITIVE, "n": (0.2, 10.0, False, False), **_GEOMETRY_RANGES}

    flux = Parameter(default=1.0, description="total flux")
    r_eff = Parameter(default=1.0, bounds=(1e-3, None),
                      description="semi-major half-light radius (pixels)")
    n = Parameter(default=1.0, bounds=(0.2, 10.0), description="Sersic index")
    locals().update(_geometry())

    @staticmethod
    def amplitude_from_flux(flux, r_eff, n, ellip=0.0):
        """Surface brightness at ``r_eff`` (astropy's ``amplitude``) for a total flux."""
        b = sersic_bn(n)
        norm = 2 * np.pi * (1 - ellip) * r_eff**2 * n * np.exp(b) * b ** (-2 * n) * gamma_function(
            2 * n)
        return flux / norm

    @staticmethod
    def flux_from_amplitude(amplitude, r_eff, n, ellip=0.0):
        """Total flux for astropy's ``amplitude`` (surface brightness at ``r_eff``)."""
        return amplitude / Sersic2D.amplitude_from_flux(1.0, r_eff, n, ellip)


Exponential2D = _elliptical_class(
    "Exponential2D", "exponential",
    r"""Exponential disk ``I(r) = I_0 exp(-r / r_s)`` with total flux (GALFIT expdisk).

    Parameters: ``flux``, ``r_s`` (scale length along the major axis, pixels;
    ``r_eff = 1.678347 r_s``) and the elliptical geometry ``x_0, y_0, ellip,
    theta, c0``.

    Examples
    --------
    >>> from galfitax import Exponential2D
    >>> disk = Exponential2D(flux=500.0, r_s=4.0, x_0=20.0, y_0=20.0, ellip=0.5, theta=0.3)
    >>> disk.param_names[:2]
    ('flux', 'r_s')
    """,
    dict(flux=Parameter(default=1.0, description="total flux"),
         r_s=Parameter(default=1.0, bounds=(1e-3, None), description="scale length (pixels)")),
    {"r_s": _POSITIVE},
)

DeVaucouleurs2D = _elliptical_class(
    "DeVaucouleurs2D", "devaucouleurs",
    """De Vaucouleurs (Sersic n = 4) profile with total flux (GALFIT devauc).

    Parameters: ``flux``, ``r_eff`` and the elliptical geometry.

    Examples
    --------
    >>> from galfitax import DeVaucouleurs2D
    >>> float(DeVaucouleurs2D(flux=10.0, r_eff=3.0).r_eff.value)
    3.0
    """,
    dict(flux=Parameter(default=1.0, description="total flux"),
         r_eff=Parameter(default=1.0, bounds=(1e-3, None),
                         description="semi-major half-light radius (pixels)")),
    {"r_eff": _POSITIVE},
)

Gaussian2D = _elliptical_class(
    "Gaussian2D", "gaussian",
    """Elliptical Gaussian with total flux and major-axis FWHM (GALFIT gaussian).

    Examples
    --------
    >>> from galfitax import Gaussian2D
    >>> float(Gaussian2D(flux=1.0, fwhm=2.5).fwhm.value)
    2.5
    """,
    dict(flux=Parameter(default=1.0, description="total flux"),
         fwhm=Parameter(default=1.0, bounds=(1e-3, None),
                        description="major-axis FWHM (pixels)")),
    {"fwhm": _POSITIVE},
)

Moffat2D = _elliptical_class(
    "Moffat2D", "moffat",
    r"""Elliptical Moffat ``I \propto (1 + (r/\gamma)^2)^{-\alpha}`` with total flux and FWHM.

    ``alpha`` is the power-law index (GALFIT's "powerlaw"), > 1 for finite flux.

    Examples
    --------
    >>> from galfitax import Moffat2D
    >>> float(Moffat2D(flux=1.0, fwhm=3.0, alpha=3.0).alpha.value)
    3.0
    """,
    dict(flux=Parameter(default=1.0, description="total flux"),
         fwhm=Parameter(default=1.0, bounds=(1e-3, None), description="major-axis FWHM"),
         alpha=Parameter(default=3.0, bounds=(1.01, 20.0), description="power-law index")),
    {"fwhm": _POSITIVE, "alpha": (1.0, None, True, False)},
)

Ferrers2D = _elliptical_class(
    "Ferrers2D", "ferrers",
    r"""Ferrers (bar) profile ``I = I_0 (1 - (r/r_{out})^{2-\beta})^\alpha`` inside ``r_out``.

    Total ``flux`` parameter (GALFIT ferrer uses the central surface
    brightness; the normalisation is computed by quadrature).

    Examples
    --------
    >>> from galfitax import Ferrers2D
    >>> float(Ferrers2D(flux=1.0, r_out=10.0, alpha=2.0, beta=0.5).r_out.value)
    10.0
    """,
    dict(flux=Parameter(default=1.0, description="total flux"),
         r_out=Parameter(default=10.0, bounds=(1e-2, None), description="outer truncation radius"),
         alpha=Parameter(default=2.0, bounds=(0.0, 10.0), description="outer power (sharpness)"),
         beta=Parameter(default=0.0, bounds=(0.0, 1.99), description="central slope")),
    {"r_out": _POSITIVE, "alpha": (0.0, None, False, False), "beta": (None, 2.0, False, True)},
)

King2D = _elliptical_class(
    "King2D", "king",
    r"""Modified King profile (Elson 1999; GALFIT king) with total flux.

    ``I \propto [(1 + (r/r_c)^2)^{-1/\alpha} - (1 + (r_t/r_c)^2)^{-1/\alpha}]^\alpha``
    for ``r < r_t``; ``alpha = 2`` is the classical King profile.

    Examples
    --------
    >>> from galfitax import King2D
    >>> float(King2D(flux=1.0, r_c=2.0, r_t=20.0).alpha.value)
    2.0
    """,
    dict(flux=Parameter(default=1.0, description="total flux"),
         r_c=Parameter(default=1.0, bounds=(1e-3, None), description="core radius"),
         r_t=Parameter(default=10.0, bounds=(1e-2, None), description="truncation radius"),
         alpha=Parameter(default=2.0, bounds=(0.1, 10.0), description="power index")),
    {"r_c": _POSITIVE, "r_t": _POSITIVE, "alpha": _POSITIVE},
)

Nuker2D = _elliptical_class(
    "Nuker2D", "nuker",
    r"""Nuker law (Lauer et al. 1995; GALFIT nuker).

    ``I(r) = I_b 2^{(\beta-\gamma)/\alpha} (r/r_b)^{-\gamma}
    [1 + (r/r_b)^\alpha]^{(\gamma-\beta)/\alpha}``.
    Its total flux is infinite unless ``beta > 2``, so the scale parameter is
    ``amplitude`` = surface brightness at ``r_b`` (flux per pixel^2).

    Examples
    --------
    >>> from galfitax import Nuker2D
    >>> float(Nuker2D(amplitude=1.0, r_b=5.0, alpha=2.0, beta=3.0, gamma=0.5).gamma.value)
    0.5
    """,
    dict(amplitude=Parameter(default=1.0, description="surface brightness at r_b"),
         r_b=Parameter(default=5.0, bounds=(1e-3, None), description="break radius"),
         alpha=Parameter(default=2.0, bounds=(0.05, 20.0), description="break sharpness"),
         beta=Parameter(default=3.0, bounds=(0.0, 20.0), description="outer slope"),
         gamma=Parameter(default=0.5, bounds=(0.0, 1.5), description="inner slope")),
    {"r_b": _POSITIVE, "alpha": _POSITIVE, "gamma": (0.0, 1.8, False, False)},
)

CoreSersic2D = _elliptical_class(
    "CoreSersic2D", "core_sersic",
    r"""Core-Sersic profile (Graham et al. 2003; as in imfit).

    A Sersic outer profile with a power-law core of slope ``gamma`` inside the
    break radius ``r_b``; ``amplitude`` is the surface brightness at ``r_b``.

    Examples
    --------
    >>> from galfitax import CoreSersic2D
    >>> float(CoreSersic2D(amplitude=1.0, r_eff=10.0, n=4.0, r_b=1.0, alpha=2.0, gamma=0.2).n.value)
    4.0
    """,
    dict(amplitude=Parameter(default=1.0, description="surface brightness at r_b"),
         r_eff=Parameter(default=10.0, bounds=(1e-3, None), description="half-light radius"),
         n=Parameter(default=4.0, bounds=(0.2, 10.0), description="Sersic index"),
         r_b=Parameter(default=1.0, bounds=(1e-3, None), description="break radius"),
         alpha=Parameter(default=2.0, bounds=(0.05, 50.0), description="transition sharpness"),
         gamma=Parameter(default=0.2, bounds=(0.0, 1.5), description="inner slope")),
    {"r_eff": _POSITIVE, "n": (0.2, 10.0, False, False), "r_b": _POSITIVE,
     "alpha": _POSITIVE, "gamma": (0.0, 1.8, False, False)},
)

BrokenExponential2D = _elliptical_class(
    "BrokenExponential2D", "broken_exponential",
    r"""Broken exponential disk (Erwin et al. 2008; as in imfit).

    Scale length ``h1`` inside and ``h2`` outside ``r_break``, with transition
    sharpness ``alpha``; ``amplitude`` is the central surface brightness.

    Examples
    --------
    >>> from galfitax import BrokenExponential2D
    >>> float(BrokenExponential2D(amplitude=1.0, h1=5.0, h2=2.0, r_break=10.0).alpha.value)
    1.0
    """,
    dict(amplitude=Parameter(default=1.0, description="central surface brightness"),
         h1=Parameter(default=5.0, bounds=(1e-3, None), description="inner scale length"),
         h2=Parameter(default=3.0, bounds=(1e-3, None), description="outer scale length"),
         r_break=Parameter(default=10.0, bounds=(0.0, None), description="break radius"),
         alpha=Parameter(default=1.0, bounds=(1e-2, 100.0), description="break sharpness")),
    {"h1": _POSITIVE, "h2": _POSITIVE, "alpha": _POSITIVE},
)


# thin disks vary on the pixel scale along their whole length, not only near the centre
_EDGE_ON_SETTINGS = IntegrationSettings(subsampling=6, outer_subsampling=6)


class EdgeOnDisk2D(_CheckedProfile2D):
    r"""Edge-on disk (van der Kruit & Searle 1981; GALFIT edgedisk).

    .. math::

        I(x, z) = I_0 \frac{|x|}{r_s} K_1\left(\frac{|x|}{r_s}\right)
        \mathrm{sech}^2\left(\frac{z}{h_s}\right), \quad F = 2 \pi r_s h_s I_0

    with ``x`` along the disk plane (angle ``theta`` from +x) and ``z``
    perpendicular to it. The sech^2 layer is sharp across the plane, so the
    default ``integration`` samples every pixel with 6 x 6 Gauss-Legendre
    nodes (pixel values within 2e-4 of the peak down to ``h_s = 0.3``
    pixel; 3 x 3 nodes reach 1e-4 only for ``h_s >= 0.6``).

    Examples
    --------
    >>> from galfitax import EdgeOnDisk2D
    >>> EdgeOnDisk2D(flux=1.0, r_s=10.0, h_s=1.5).param_names
    ('flux', 'r_s', 'h_s', 'x_0', 'y_0', 'theta')
    """

    _kind = "edge_on_disk"
    _valid_ranges = {"r_s": _POSITIVE, "h_s": _POSITIVE}

    flux = Parameter(default=1.0, description="total flux")
    r_s = Parameter(default=10.0, bounds=(1e-3, None), description="radial scale length")
    h_s = Parameter(default=1.0, bounds=(1e-3, None), description="vertical scale height")
    x_0 = Parameter(default=0.0, description="x of the centre (0-based pixels)")
    y_0 = Parameter(default=0.0, description="y of the centre (0-based pixels)")
    theta = Parameter(default=0.0, description="disk-plane angle, radians CCW from +x")

    def __init__(self, *args, integration=None, **kwargs):
        if integration is None:
            integration = _EDGE_ON_SETTINGS
        super().__init__(*args, integration=integration, **kwargs)


class PointSource2D(_CheckedProfile2D):
    """A point source of total ``flux`` at ``(x_0, y_0)``.

    Convolved with a PSF it becomes the PSF shifted with sub-pixel accuracy.
    Alone, it is the exact pixel integral of a delta function: all flux in
    the pixel that holds the centre (and zero derivative with respect to the
    position, so fit it only inside a PSF convolution).

    Examples
    --------
    >>> import numpy as np
    >>> from galfitax import PointSource2D
    >>> y, x = np.mgrid[0:5, 0:5]
    >>> PointSource2D(flux=3.0, x_0=2.2, y_0=1.9)(x, y)[2, 2]
    np.float64(3.0)
    """

    _kind = "point"

    flux = Parameter(default=1.0, description="total flux")
    x_0 = Parameter(default=0.0, description="x of the centre (0-based pixels)")
    y_0 = Parameter(default=0.0, description="y of the centre (0-based pixels)")


class FlatSky(_CheckedProfile2D):
    """A constant sky level, ``amplitude`` per pixel (GALFIT sky without gradients).

    Sky components are never convolved with the PSF.

    Examples
    --------
    >>> import numpy as np
    >>> from galfitax import FlatSky
    >>> y, x = np.mgrid[0:2, 0:2]
    >>> FlatSky(amplitude=5.0)(x, y)
    array([[5., 5.],
           [5., 5.]])
    """

    _kind = "flat_sky"
    amplitude = Parameter(default=0.0, description="sky level per pixel")


class TiltedSky(_CheckedProfile2D):
    """A sky plane ``amplitude + slope_x (x - x_0) + slope_y (y - y_0)`` per pixel.

    ``x_0, y_0`` is the reference point (GALFIT uses the fitting-region
    centre) and is fixed by default.

    Examples
    --------
    >>> from galfitax import TiltedSky
    >>> sky = TiltedSky(amplitude=10.0, slope_x=0.1, x_0=50.0, y_0=50.0)
    >>> float(sky(60.0, 50.0))
    11.0
    """

    _kind = "tilted_sky"
    amplitude = Parameter(default=0.0, description="sky level at (x_0, y_0)")
    slope_x = Parameter(default=0.0, description="d sky / dx per pixel")
    slope_y = Parameter(default=0.0, description="d sky / dy per pixel")
    x_0 = Parameter(default=0.0, fixed=True, description="reference x (0-based)")
    y_0 = Parameter(default=0.0, fixed=True, description="reference y (0-based)")
