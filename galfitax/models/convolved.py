"""PSF convolution as an astropy model: `PSFConvolvedModel`."""

import functools

import numpy as np
from astropy.modeling import Model, Parameter

import galfitax._jax.convolve  # noqa: F401  (registers the "conv" plan node)
from galfitax.exceptions import InvalidModelError, InvalidParameterError
from galfitax.models.core import Profile2D
from galfitax.models.plan import build_plan
from galfitax.psf.kernels import make_kernel
from galfitax.settings import DEFAULT_SETTINGS

__all__ = ["PSFConvolvedModel"]

_SKY_KINDS = ("flat_sky", "tilted_sky")
_ZERO = ("leaf", "flat_sky", (), (("amplitude", 0.0),), DEFAULT_SETTINGS)


def _signed_terms(plan, sign=1.0):
    """The terms of the top-level ``+ -`` tree of a plan, with their signs."""
    if plan[0] == "op" and plan[1] in ("+", "-"):
        right_sign = sign if plan[1] == "+" else -sign
        return _signed_terms(plan[2], sign) + _signed_terms(plan[3], right_sign)
    return [(sign, plan)]


def _node_kinds(plan):
    """Leaf kinds and node types anywhere in a plan."""
    if plan[0] == "leaf":
        return {plan[1]}
    if plan[0] == "op":
        return _node_kinds(plan[2]) | _node_kinds(plan[3])
    return {plan[0]}


def _sum_of_terms(terms):
    if not terms:
        return None
    total = None
    for sign, term in terms:
        if total is None:
            total = term if sign > 0 else ("op", "-", _ZERO, term)
        else:
            total = ("op", "+" if sign > 0 else "-", total, term)
    return total


def split_for_convolution(plan):
    """``(extended, points, sky)`` parts of a plan: convolved, shifted PSFs, unconvolved."""
    extended, points, sky = [], [], []
    for sign, term in _signed_terms(plan):
        kinds = _node_kinds(term)
        if term[0] == "leaf" and term[1] in _SKY_KINDS:
            sky.append((sign, term))
        elif term[0] == "leaf" and term[1] == "point":
            points.append((sign, term))
        elif "point" in kinds:
            raise InvalidModelError(
                "a point source inside a product or quotient cannot be convolved; "
                "add point sources with + or -")
        elif "conv" in kinds:
            raise InvalidModelError("a PSFConvolvedModel cannot contain another one")
        else:
            extended.append((sign, term))
    return _sum_of_terms(extended), tuple(points), _sum_of_terms(sky)


def _default_position(model):
    """``(x_0, y_0)`` of the first non-sky component that has a centre."""
    from galfitax.models.plan import leaf_models
    from galfitax.models.profiles import TiltedSky

    for leaf in leaf_models(model):
        if isinstance(leaf, TiltedSky):
            continue
        if "x_0" in leaf.param_names and "y_0" in leaf.param_names:
            return float(leaf.x_0.value), float(leaf.y_0.value)
    return None


def _check_pad(pad, kernel):
    if pad is None:
        return max(int(np.ceil(half / kernel.oversampling)) for half in kernel.half_size)
    if isinstance(pad, bool) or not isinstance(pad, (int, np.integer)) or pad < 0:
        raise InvalidParameterError(f"pad must be a non-negative integer (pixels), got {pad!r}")
    return int(pad)


def _forward_init(self, *args, **kwargs):
    # astropy's metaclass would otherwise write an __init__ taking the parameters
    PSFConvolvedModel.__init__(self, *args, **kwargs)


@functools.lru_cache(maxsize=256)
def _mirror_class(param_names):
    """A `PSFConvolvedModel` subclass with one `Parameter` per wrapped parameter."""
    members = {name: Parameter(default=0.0) for name in param_names}
    members.update(__module__=__name__, __doc__=PSFConvolvedModel.__doc__, _is_dynamic=True,
                   __init__=_forward_init)
    return type(PSFConvolvedModel)("PSFConvolvedModel", (PSFConvolvedModel,), members)


def _empty_instance(param_names):
    cls = _mirror_class(param_names)
    return Profile2D.__new__(cls)


class PSFConvolvedModel(Profile2D):
    """A model convolved with a PSF, itself an astropy ``Fittable2DModel``.

    Its parameters mirror the wrapped model's (same names, values, bounds,
    ``fixed`` and ``tied``: ``flux_0, r_eff_0, ...`` for a compound), so
    astropy fitters and ``+ - * /`` work as for any galfitax model; `model`
    gives the wrapped model with the current values. Sky components
    (`~galfitax.FlatSky`, `~galfitax.TiltedSky`, ``Const2D``, ``Planar2D``)
    added with ``+`` / ``-`` are not convolved (as in GALFIT); point sources
    become the PSF shifted with sub-pixel accuracy. See
    :mod:`galfitax._jax.convolve` for the numerics.

    Parameters
    ----------
    model : astropy.modeling.Model
        The model to convolve: a galfitax profile or a ``+ - * /`` compound.
    psf : photutils PSF model, array_like, path or `~galfitax.psf.PSFKernel`
        The PSF (see `galfitax.psf.make_kernel`): e.g.
        `~photutils.psf.ImagePSF`, `~photutils.psf.GriddedPSFModel`
        (evaluated at ``psf_position``, by default the model's centre),
        `~photutils.psf.CircularGaussianPRF`, `~photutils.psf.MoffatPSF`, a
        2-D array or a FITS file name (with ``hdu``).
    oversampling : int, optional
        Fine-grid factor: the model is rendered ``oversampling`` times finer
        than the image, convolved and brought back to image pixels. Default:
        ``psf_oversampling``, or the native oversampling of photutils image
        PSFs, else 1.
    psf_oversampling : int, optional
        For PSF arrays: how many times finer than the image the PSF is
        sampled (GALFIT's "PSF fine sampling factor").
    pad : int, optional
        Convolution box margin in image pixels: the model is rendered this
        far beyond every edge so light from just outside the frame scatters
        in. Default: half the PSF size. Nothing wraps around whatever the
        value.
    normalize : bool
        Normalise a PSF array that does not sum to 1, with a
        `~galfitax.exceptions.PSFCorrectionWarning`, instead of raising.
    pixel_response : {"integrated", "sampled", "galfit"}, optional
        What the PSF samples are (see `galfitax.psf.make_kernel`). Defaults:
        PSF models give a PRF (``"integrated"``); arrays and FITS files at
        the image sampling are used as GALFIT / imfit use them
        (``"galfit"``, so the same files give the same fit); arrays with
        ``psf_oversampling > 1`` are point samples (``"sampled"``).
    psf_shape : int or (int, int), optional
        Size in image pixels of the box a PSF *model* is sampled on.
    psf_position : (float, float), optional
        Where a `~photutils.psf.GriddedPSFModel` is evaluated.
    hdu : int or str
        FITS extension of a PSF file.
    **kwargs
        Other astropy model keywords (``name``, ``meta``).

    Raises
    ------
    galfitax.exceptions.InvalidPSFError
        For unusable PSFs (NaNs, non-positive sum, wrong dimensionality) and,
        at evaluation, a PSF larger than the image.

    Examples
    --------
    >>> import numpy as np
    >>> from photutils.psf import CircularGaussianPRF
    >>> from galfitax import FlatSky, Gaussian2D, PSFConvolvedModel
    >>> galaxy = Gaussian2D(flux=1000.0, fwhm=4.0, x_0=15.0, y_0=16.0, ellip=0.3)
    >>> conv = PSFConvolvedModel(galaxy + FlatSky(amplitude=2.0),
    ...                          CircularGaussianPRF(fwhm=2.5), psf_shape=15)
    >>> conv.param_names
    ('flux_0', 'fwhm_0', 'x_0_0', 'y_0_0', 'ellip_0', 'theta_0', 'c0_0', 'amplitude_1')
    >>> y, x = np.mgrid[0:32, 0:32]
    >>> image = conv(x, y)  # the sky is added unconvolved
    >>> round(float(image.sum() - 2.0 * image.size), 3)  # all the light is in the frame
    1000.0
    >>> conv.model[0].fwhm.value  # the wrapped model, with the current values
    np.float64(4.0)
    """

    def __new__(cls, model=None, psf=None, *args, **kwargs):
        if cls is PSFConvolvedModel:
            if not isinstance(model, Model):
                raise InvalidModelError(
                    f"PSFConvolvedModel wraps an astropy model, got {type(model).__name__}")
            cls = _mirror_class(tuple(model.param_names))
        return super().__new__(cls)

    def __init__(self, model, psf, *, oversampling=None, psf_oversampling=None, pad=None,
                 normalize=True, pixel_response=None, psf_shape=None, psf_position=None,
                 hdu=0, **kwargs):
        split_for_convolution(build_plan(model)[0])  # unsupported structures fail here
        if psf_position is None:
            psf_position = _default_position(model)
        self.kernel = make_kernel(psf, oversampling=oversampling,
                                  psf_oversampling=psf_oversampling, normalize=normalize,
                                  pixel_response=pixel_response, psf_shape=psf_shape,
                                  position=psf_position, hdu=hdu)
        self.pad = _check_pad(pad, self.kernel)
        self._wrapped = model.copy()
        names = model.param_names
        values = {name: float(value) for name, value in zip(names, model.parameters)}
        super().__init__(**values, fixed=dict(model.fixed), bounds=dict(model.bounds),
                         tied=dict(model.tied), **kwargs)

    def __reduce__(self):
        # the mirror class is rebuilt from the parameter names (it is not importable)
        return (_empty_instance, (tuple(self.param_names),), self.__dict__)

    @property
    def model(self):
        """The wrapped model with this model's current values and constraints."""
        wrapped = self._wrapped.copy()
        wrapped.parameters = self.parameters
        for name in self.param_names:
            parameter = getattr(wrapped, name)
            parameter.fixed = self.fixed[name]
            parameter.bounds = self.bounds[name]
            parameter.tied = self.tied[name]
        return wrapped

    def _galfitax_plan(self, offset):
        inner, checks, n_params = build_plan(self._wrapped, offset)
        extended, points, sky = split_for_convolution(inner)
        # PSFs are given in image pixels: unit pixels in model coordinates
        return ("conv", self.kernel, self.pad, extended, points, sky, 1.0), checks, n_params
