"""Wavelength dependence of parameters: GALFITM-style Chebyshev polynomials.

Each parameter of a multiband model varies with wavelength as a Chebyshev
polynomial in the normalised wavelength ``w = 2 (lambda - lambda_min) /
(lambda_max - lambda_min) - 1`` (so the bands span ``[-1, 1]``). Its
*freedom* is the number of free Chebyshev coefficients, exactly as in a
GALFITM feedme file:

* ``0`` -- fixed at the given per-band values;
* ``1`` -- one value shared by all bands;
* ``k`` -- a polynomial of degree ``k - 1``;
* ``n_bands`` (or ``"band"``) -- free in every band.

Every choice is linear in the coefficients, so the per-band parameter
vectors are an affine map of one global coefficient vector; the joint fit
and the propagation of the coefficient covariance to per-band values use
that map directly.
"""

import numpy as np
from numpy.polynomial import chebyshev

from galfitax.exceptions import ConfigurationError

__all__ = ["chebyshev_design", "normalized_wavelengths", "resolve_freedom"]


def normalized_wavelengths(wavelengths):
    """Map band wavelengths linearly onto ``[-1, 1]``.

    Parameters
    ----------
    wavelengths : array_like
        Effective wavelengths, strictly increasing (any unit).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> normalized_wavelengths([4800.0, 6200.0, 7600.0])
    array([-1.,  0.,  1.])
    """
    wavelengths = np.asarray(getattr(wavelengths, "value", wavelengths), dtype=float)
    if wavelengths.ndim != 1 or wavelengths.size < 1:
        raise ConfigurationError(f"wavelengths must be a 1-D sequence, got {wavelengths!r}")
    if not np.all(np.isfinite(wavelengths)):
        raise ConfigurationError(f"wavelengths must be finite, got {wavelengths.tolist()}")
    if wavelengths.size == 1:
        return np.zeros(1)
    steps = np.diff(wavelengths)
    if np.any(steps <= 0):
        bad = int(np.flatnonzero(steps <= 0)[0])
        raise ConfigurationError(
            "band wavelengths must be strictly increasing; band "
            f"{bad + 1} ({wavelengths[bad + 1]}) is not redder than band {bad} ({wavelengths[bad]})"
        )
    span = wavelengths[-1] - wavelengths[0]
    return 2.0 * (wavelengths - wavelengths[0]) / span - 1.0


def resolve_freedom(freedom, n_bands, name="parameter"):
    """Validate a freedom specification and return the number of free coefficients.

    ``"fixed"`` -> 0, ``"constant"`` -> 1, ``"band"``/``"free"`` -> ``n_bands``,
    integers ``0 <= k <= n_bands`` as given.

    Examples
    --------
    >>> resolve_freedom("band", 5), resolve_freedom(2, 5), resolve_freedom("constant", 5)
    (5, 2, 1)
    """
    aliases = {"fixed": 0, "constant": 1, "band": n_bands, "free": n_bands}
    if isinstance(freedom, str):
        if freedom not in aliases:
            raise ConfigurationError(
                f"wavelength freedom of {name!r} must be an integer or one of "
                f"{sorted(aliases)}, got {freedom!r}"
            )
        return aliases[freedom]
    if isinstance(freedom, (bool, np.bool_)) or not isinstance(freedom, (int, np.integer)):
        raise ConfigurationError(f"wavelength freedom of {name!r} must be an integer, got {freedom!r}")
    if not 0 <= int(freedom) <= n_bands:
        raise ConfigurationError(
            f"wavelength freedom of {name!r} must be between 0 and the number of bands "
            f"({n_bands}), got {freedom}"
        )
    return int(freedom)


def chebyshev_design(normalized, n_coeffs):
    """Design matrix ``D[b, k] = T_k(w_b)`` for ``n_coeffs`` coefficients.

    With ``n_coeffs`` equal to the number of bands the identity is returned
    instead (per-band values as the coefficients: the same span, better
    conditioned).

    Examples
    --------
    >>> chebyshev_design(np.array([-1.0, 0.0, 1.0]), 2)
    array([[ 1., -1.],
           [ 1.,  0.],
           [ 1.,  1.]])
    """
    normalized = np.asarray(normalized, dtype=float)
    n_bands = normalized.size
    if n_coeffs == n_bands:
        return np.eye(n_bands)
    if n_coeffs == 0:
        return np.zeros((n_bands, 0))
    return chebyshev.chebvander(normalized, n_coeffs - 1)
