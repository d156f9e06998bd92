"""`MultiBandModel`: one galfitax model whose parameters vary with wavelength.

Every parameter of a single-band *template* model gets a wavelength
*freedom* (see :mod:`galfitax.multiband.wavelength`): fixed, constant, a
Chebyshev polynomial with ``k`` coefficients in normalised wavelength, or
free in every band. All choices are linear in the free *coefficients*
``theta``, so the parameter vector of band ``b`` (the template's
``param_names`` order) is the affine map

.. math::

    p_b = A_b \\theta + c_b,

where ``A_b`` also carries the template's affine ``tied`` relations and
the optional per-band position offsets, and ``c_b`` holds fixed values. The
joint fit moves ``theta``; per-band covariances follow as
``A_b Cov(theta) A_b^T``.
"""

import copy

import numpy as np
from astropy.modeling import CompoundModel, Model
from astropy.modeling.fitting import Covariance, StandardDeviations
from astropy.table import Table

from galfitax.exceptions import ConfigurationError, InvalidModelError, InvalidParameterError
from galfitax.fitting.constraints import parameter_map
from galfitax.models.core import _check_parameters, model_plan
from galfitax.models.plan import leaf_models
from galfitax.multiband.bands import Band, check_bands
from galfitax.multiband.wavelength import (
    chebyshev_design,
    normalized_wavelengths,
    resolve_freedom,
)

__all__ = ["DEFAULT_FREEDOM", "MultiBandModel"]

# GALFITM-like defaults by parameter name: centre and shape constant, brightness and sky
# free in every band, sizes and profile slopes linear in wavelength, c0 fixed.
DEFAULT_FREEDOM = {
    "x_0": 1, "y_0": 1, "ellip": 1, "theta": 1, "c0": 0,
    "flux": "band", "amplitude": "band", "slope_x": "band", "slope_y": "band",
    "r_eff": 2, "n": 2, "r_s": 2, "h_s": 2, "fwhm": 2, "r_b": 2, "r_c": 2, "r_t": 2,
    "r_out": 2,
}
_SKY_CLASSES = ("FlatSky", "TiltedSky", "Const2D", "Planar2D")


def _parameter_roles(template):
    """For each parameter: ``(base name, is a centre coordinate of a non-sky leaf)``."""
    roles = []
    for leaf in leaf_models(template):
        is_sky = type(leaf).__name__ in _SKY_CLASSES
        centred = "x_0" in leaf.param_names and "y_0" in leaf.param_names and not is_sky
        for name in leaf.param_names:
            roles.append((name, centred and name in ("x_0", "y_0")))
    if len(roles) != len(template.param_names):  # pragma: no cover - wrappers inside sums
        raise InvalidModelError("cannot map the template's parameters onto its components")
    return roles


def _band_values(template, values, n_bands):
    """``(n_bands, n_params)`` starting values: the template's, overridden by ``values``."""
    names = template.param_names
    table = np.tile(np.asarray(template.parameters, dtype=float), (n_bands, 1))
    for name, value in (values or {}).items():
        if name not in names:
            raise ConfigurationError(f"values: the template has no parameter {name!r} "
                                     f"(parameters: {', '.join(names)})")
        array = np.asarray(getattr(value, "value", value), dtype=float)
        if array.ndim == 0:
            array = np.full(n_bands, float(array))
        if array.shape != (n_bands,):
            raise ConfigurationError(f"values[{name!r}] must give one value or one per band "
                                     f"({n_bands}), got {array.shape}")
        table[:, names.index(name)] = array
    return table


class MultiBandModel:
    """A single-band galfitax model made wavelength dependent (GALFITM-style).

    Parameters
    ----------
    template : astropy.modeling.Model
        The model of one band, without PSF (galfitax profiles and skies,
        summed). Its ``fixed`` parameters stay fixed at the per-band values,
        its affine ``tied`` relations hold in every band and its ``bounds``
        (and the profiles' validity ranges) hold in every band.
    wavelengths : array_like or `~astropy.units.Quantity`, optional
        Band wavelengths, strictly increasing. Give this or ``bands``.
    bands : sequence of `~galfitax.multiband.Band`, optional
        The bands to fit (their wavelengths and names are used).
    freedom : dict, optional
        Wavelength freedom by parameter: full names (``"r_eff_0"``) or names
        without the component suffix (``"r_eff"``, applies to every
        component), mapped to the number of free Chebyshev coefficients
        (``0`` fixed, ``1`` constant, ``k`` a polynomial of degree ``k - 1``)
        or ``"fixed"``, ``"constant"``, ``"band"`` (free in every band). The
        defaults (`DEFAULT_FREEDOM`) follow GALFITM's usual set-up: centre,
        ellipticity and angle constant, fluxes and sky free in every band,
        sizes and Sersic index linear in wavelength, ``c0`` fixed; other
        parameters constant.
    position_offsets : bool
        Fit a per-band shift ``(dx, dy)`` of all component centres (small
        registration errors); the first band's shift is 0.
    band_names : sequence of str, optional
        Labels of the bands when ``wavelengths`` are given.
    values : dict, optional
        Per-band starting (and, for fixed parameters, fixed) values:
        parameter name -> one value per band. Other parameters start at the
        template's value in every band. The starting coefficients are the
        least-squares fit of these values.

    Attributes
    ----------
    coefficients : numpy.ndarray
        Current coefficients (`coeff_names` order).
    cov_matrix : numpy.ndarray or None
        Covariance of the coefficients after a fit.
    fit_info : dict
        Diagnostics of the fit that produced this model (empty before).

    Examples
    --------
    >>> from galfitax import Sersic2D
    >>> from galfitax.multiband import MultiBandModel
    >>> template = Sersic2D(flux=100.0, r_eff=4.0, n=2.0, x_0=31.0, y_0=32.0, ellip=0.3)
    >>> mb = MultiBandModel(template, [4800.0, 6200.0, 7600.0], band_names="gri",
    ...                     values={"r_eff": [3.0, 4.0, 5.0]})
    >>> mb.coeff_names
    ('flux_g', 'flux_r', 'flux_i', 'r_eff_c0', 'r_eff_c1', 'n_c0', 'n_c1', 'x_0', 'y_0', 'ellip',
     'theta')
    >>> [round(float(v), 6) for v in mb.band_parameters()[:, 1]]
    [3.0, 4.0, 5.0]
    """

    def __init__(self, template, wavelengths=None, *, bands=None, freedom=None,
                 position_offsets=False, band_names=None, values=None):
        if not isinstance(template, Model):
            raise InvalidModelError(f"template must be an astropy model, got "
                                    f"{type(template).__name__}")
        if hasattr(template, "kernel") and not isinstance(template, CompoundModel):
            raise InvalidModelError("pass the template without PSF convolution: each Band "
                                    "carries its own PSF")
        if (wavelengths is None) == (bands is None):
            raise ConfigurationError("give either wavelengths or bands")
        if bands is not None:
            bands = check_bands(bands)
            wavelengths = [band.wavelength_value for band in bands]
            band_names = [band.name for band in bands]
        wavelengths = np.atleast_1d(np.asarray(getattr(wavelengths, "value", wavelengths),
                                               dtype=float))
        self.normalized = normalized_wavelengths(wavelengths)
        self.wavelengths = wavelengths
        n_bands = wavelengths.size
        if band_names is None:
            band_names = [f"band{k}" for k in range(n_bands)]
        band_names = [str(name) for name in band_names]
        if len(band_names) != n_bands or len(set(band_names)) != n_bands:
            raise ConfigurationError(f"band_names must be {n_bands} unique labels, got "
                                     f"{band_names}")
        self.band_names = tuple(band_names)
        self.template = template.copy()
        _, self._checks = model_plan(self.template)
        self.position_offsets = bool(position_offsets)
        self._start_values = _band_values(self.template, values, n_bands)
        for row in self._start_values:
            _check_parameters(row, self._checks, self.template.param_names)
        self.freedom = self._resolve_freedoms(freedom or {})
        self._build_map()
        self.coefficients = self._least_squares_coefficients(self._start_values)
        self.cov_matrix = None
        self.fit_info = {}

    # ------------------------------------------------------------------ set-up
    @property
    def n_bands(self):
        """Number of bands."""
        return len(self.band_names)

    @property
    def param_names(self):
        """Names of the template's parameters (columns of `band_parameters`)."""
        return self.template.param_names

    def _resolve_freedoms(self, freedom):
        names = self.template.param_names
        roles = _parameter_roles(self.template)
        known = set(names) | {base for base, _ in roles}
        unknown = sorted(set(freedom) - known)
        if unknown:
            raise ConfigurationError(f"freedom: the template has no parameter {unknown} "
                                     f"(parameters: {', '.join(names)})")
        resolved = {}
        for name, (base, _) in zip(names, roles):
            explicit = name in freedom or base in freedom
            spec = freedom.get(name, freedom.get(base, DEFAULT_FREEDOM.get(base, 1)))
            k = resolve_freedom(spec, self.n_bands, name) if explicit else min(
                resolve_freedom(spec, max(self.n_bands, 2), name), self.n_bands)
            constrained = self.template.fixed[name] or bool(self.template.tied[name])
            if constrained and explicit and k > 0:
                what = "fixed" if self.template.fixed[name] else "tied"
                raise ConfigurationError(f"parameter {name!r} is {what} in the template; it "
                                         f"cannot have wavelength freedom {spec!r}")
            resolved[name] = 0 if constrained else k
        if self.position_offsets and self.n_bands > 1:
            for name, (_, centre) in zip(names, roles):
                if centre and resolved[name] == self.n_bands:
                    raise ConfigurationError(
                        f"{name!r} is free in every band; per-band position offsets would be "
                        "degenerate with it")
        return resolved

    def _band_template(self, band):
        """Template copy with band ``band``'s starting values and the wavelength-fixed ones."""
        model = self.template.copy()
        model.parameters = self._start_values[band]
        for name, k in self.freedom.items():
            if k == 0 and not model.tied[name]:
                getattr(model, name).fixed = True
        return model

    def _build_map(self):
        names = self.template.param_names
        roles = _parameter_roles(self.template)
        maps = [parameter_map(self._band_template(b), self._checks) for b in range(self.n_bands)]
        free = maps[0].free_index
        columns, coeff_names, kinds = {}, [], []
        for index in free:
            name, k = names[index], self.freedom[names[index]]
            start = len(coeff_names)
            if k == self.n_bands and self.n_bands > 1:
                coeff_names += [f"{name}_{band}" for band in self.band_names]
                kinds += ["band"] * k
            elif k == 1:
                coeff_names.append(name)
                kinds.append("constant")
            else:
                coeff_names += [f"{name}_c{i}" for i in range(k)]
                kinds += ["chebyshev"] * k
            columns[int(index)] = (start, k)
        offset_columns = {}
        if self.position_offsets:
            for band in self.band_names[1:]:
                offset_columns[band] = len(coeff_names)
                coeff_names += [f"dx_{band}", f"dy_{band}"]
                kinds += ["offset", "offset"]
        n_coeffs = len(coeff_names)
        design = {k: chebyshev_design(self.normalized, k) for _, k in columns.values()}
        blocks, offsets, free_blocks = [], [], []
        for b, pmap in enumerate(maps):
            if not np.array_equal(pmap.free_index, free):  # pragma: no cover - same structure
                raise InvalidModelError("the template's free parameters differ between bands")
            free_design = np.zeros((free.size, n_coeffs))
            for row, index in enumerate(free):
                start, k = columns[int(index)]
                free_design[row, start:start + k] = design[k][b]
                centre = roles[index][1] and self.position_offsets and b > 0
                if centre:
                    axis = 0 if roles[index][0] == "x_0" else 1
                    free_design[row, offset_columns[self.band_names[b]] + axis] = 1.0
            free_blocks.append(free_design)
            blocks.append(pmap.matrix @ free_design)
            offsets.append(pmap.offset)
        self.coeff_names = tuple(coeff_names)
        self.coeff_kinds = tuple(kinds)
        self._free_index = free
        self._free_design = np.stack(free_blocks)
        self.matrix = np.concatenate(blocks)
        self.offset = np.concatenate(offsets)
        self.lower, self.upper = self._coefficient_box(maps)
        self.limits = self._band_limits(maps)
        self._maps = maps
        if n_coeffs == 0:
            raise InvalidModelError("the multiband model has no free coefficient")

    def _coefficient_box(self, maps):
        """Bounds of coefficients that equal one parameter's value in some bands."""
        n_coeffs = len(self.coeff_names)
        lower, upper = np.full(n_coeffs, -np.inf), np.full(n_coeffs, np.inf)
        for b, pmap in enumerate(maps):
            for row in range(self._free_index.size):
                nonzero = np.flatnonzero(self._free_design[b, row])
                if nonzero.size == 1 and self._free_design[b, row, nonzero[0]] == 1.0:
                    c = nonzero[0]
                    lower[c] = max(lower[c], pmap.lower[row])
                    upper[c] = min(upper[c], pmap.upper[row])
        for c in np.flatnonzero(lower > upper):  # pragma: no cover - bounds differ by band
            raise InvalidParameterError(f"coefficient {self.coeff_names[c]!r} has empty bounds")
        return lower, upper

    def _band_limits(self, maps):
        """Per band: ``((index, low, high), ...)`` of free parameters with finite limits."""
        limits = []
        for pmap in maps:
            entries = []
            for row, index in enumerate(self._free_index):
                low, high = pmap.lower[row], pmap.upper[row]
                if np.isfinite(low) or np.isfinite(high):
                    entries.append((int(index), float(low) if np.isfinite(low) else None,
                                    float(high) if np.isfinite(high) else None))
            limits.append(tuple(entries))
        return tuple(limits)

    def _least_squares_coefficients(self, values):
        target = np.concatenate([row[self._free_index] for row in values])
        design = np.concatenate(list(self._free_design))
        solution, *_ = np.linalg.lstsq(design, target, rcond=None)
        # round-off must not put e.g. an ellipticity of 0 at -1e-16, outside its range
        return np.clip(solution, self.lower, self.upper)

    # ------------------------------------------------------------------ the affine map
    def band_matrix(self, band):
        """``(A_b, c_b)``: the map from coefficients to band ``band``'s parameters.

        ``band`` is an index or a band name.
        """
        b = self._band_index(band)
        n_params = len(self.param_names)
        rows = slice(b * n_params, (b + 1) * n_params)
        return self.matrix[rows], self.offset[rows]

    def _band_index(self, band):
        if isinstance(band, str):
            if band not in self.band_names:
                raise ConfigurationError(f"no band {band!r} (bands: {self.band_names})")
            return self.band_names.index(band)
        return int(band)

    def varying_indices(self, band):
        """Indices of the parameters of band ``band`` that depend on the coefficients."""
        matrix, _ = self.band_matrix(band)
        return tuple(int(i) for i in np.flatnonzero(np.any(matrix != 0.0, axis=1)))

    def band_parameters(self, coefficients=None):
        """``(n_bands, n_params)`` parameter values of every band for ``coefficients``."""
        theta = self.coefficients if coefficients is None else np.asarray(coefficients, float)
        if theta.shape != (len(self.coeff_names),):
            raise InvalidParameterError(f"expected {len(self.coeff_names)} coefficients, got "
                                        f"shape {theta.shape}")
        return (self.matrix @ theta + self.offset).reshape(self.n_bands, -1)

    def band_covariances(self, cov=None):
        """``(n_bands, n_params, n_params)``: ``A_b Cov A_b^T`` for every band."""
        cov = self.cov_matrix if cov is None else np.asarray(cov, dtype=float)
        if cov is None:
            raise InvalidModelError("no coefficient covariance: fit the model first")
        blocks = self.matrix.reshape(self.n_bands, len(self.param_names), -1)
        return np.einsum("bpc,cd,bqd->bpq", blocks, cov, blocks)

    def set_band_values(self, values):
        """Set the coefficients to the least-squares fit of per-band values.

        Parameters
        ----------
        values : array_like, shape (n_bands, n_params)
        """
        values = np.asarray(values, dtype=float)
        if values.shape != (self.n_bands, len(self.param_names)):
            raise InvalidParameterError(f"values must have shape "
                                        f"{(self.n_bands, len(self.param_names))}")
        self.coefficients = self._least_squares_coefficients(values)

    # ------------------------------------------------------------------ results
    @property
    def stds(self):
        """Standard deviations of the coefficients (None before a fit)."""
        if self.cov_matrix is None:
            return None
        return np.sqrt(np.clip(np.diagonal(self.cov_matrix), 0.0, None))

    def band_models(self):
        """One astropy model per band with that band's values (and ``stds`` after a fit).

        ``model.stds`` and ``model.cov_matrix`` cover the parameters that
        depend on the coefficients.
        """
        values = self.band_parameters()
        covariances = None if self.cov_matrix is None else self.band_covariances()
        models = []
        for b in range(self.n_bands):
            model = self._band_template(b)
            model.parameters = values[b]
            model.name = self.band_names[b]
            if covariances is not None:
                varying = list(self.varying_indices(b))
                names = [self.param_names[i] for i in varying]
                sub = covariances[b][np.ix_(varying, varying)]
                model.stds = StandardDeviations(sub, names)
                model.cov_matrix = Covariance(sub, names)
            models.append(model)
        return models

    def coefficient_table(self):
        """`~astropy.table.Table` of the coefficients: name, kind, value, std."""
        stds = self.stds
        return Table(
            {"name": list(self.coeff_names), "kind": list(self.coeff_kinds),
             "value": self.coefficients,
             "std": stds if stds is not None else np.full(len(self.coeff_names), np.nan)})

    def band_table(self):
        """`~astropy.table.Table` with one row per band: values and ``<name>_std`` columns."""
        values = self.band_parameters()
        table = Table({"band": list(self.band_names), "wavelength": self.wavelengths})
        stds = None
        if self.cov_matrix is not None:
            stds = np.sqrt(np.clip(np.diagonal(self.band_covariances(), axis1=1, axis2=2),
                                   0.0, None))
        for i, name in enumerate(self.param_names):
            table[name] = values[:, i]
            table[f"{name}_std"] = stds[:, i] if stds is not None else np.nan
        return table

    def copy(self):
        """A deep copy."""
        return copy.deepcopy(self)

    def __repr__(self):
        return (f"<MultiBandModel {type(self.template).__name__} bands={list(self.band_names)} "
                f"coefficients={len(self.coeff_names)}>")

    # ------------------------------------------------------------------ helpers for the fitter
    def check_bands(self, bands):
        """Validate ``bands`` against this model's wavelengths and names."""
        bands = check_bands(bands)
        if len(bands) != self.n_bands:
            raise ConfigurationError(f"the model has {self.n_bands} bands, got {len(bands)}")
        for k, band in enumerate(bands):
            if not isinstance(band, Band):  # pragma: no cover - check_bands did this
                raise ConfigurationError(f"bands[{k}] is not a Band")
            if not np.isclose(band.wavelength_value, self.wavelengths[k], rtol=1e-12, atol=0):
                raise ConfigurationError(
                    f"band {band.name!r} has wavelength {band.wavelength_value}, the model "
                    f"expects {self.wavelengths[k]} for band {self.band_names[k]!r}")
        return bands
