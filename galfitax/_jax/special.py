"""Special functions not provided by ``jax.scipy.special``."""

import jax
import jax.numpy as jnp
from jax.scipy.special import gammainc, gammaln, i1

__all__ = ["bessel_k1", "sersic_bn"]

_NEWTON_STEPS = 12


def _bn_initial_guess(n):
    # Ciotti & Bertin (1999) asymptotic series for n > 0.36, MacArthur,
    # Courteau & Holtzman (2003) polynomial below: both within a few per cent,
    # then polished by Newton iterations on the exact definition.
    asymptotic = (2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n) + 46.0 / (25515.0 * n**2)
                  + 131.0 / (1148175.0 * n**3) - 2194697.0 / (30690717750.0 * n**4))
    small = 0.01945 - 0.8902 * n + 10.95 * n**2 - 19.67 * n**3 + 13.43 * n**4
    return jnp.where(n > 0.36, asymptotic, small)


def _bn_solve(n):
    a = 2.0 * n
    b = _bn_initial_guess(n)
    lgam = gammaln(a)

    def newton(_, b):
        b = jnp.maximum(b, 1e-8)
        f = gammainc(a, b) - 0.5
        # dP/db = b^(a-1) e^-b / Gamma(a), in log space to avoid overflow
        dfdb = jnp.exp((a - 1.0) * jnp.log(b) - b - lgam)
        step = f / dfdb
        # damp steps that would cross zero (tiny n)
        return jnp.where(b - step > 0, b - step, 0.5 * b)

    return jax.lax.fori_loop(0, _NEWTON_STEPS, newton, b)


_dgammainc_da = jnp.vectorize(jax.grad(gammainc, argnums=0))


@jax.custom_jvp
def sersic_bn(n):
    """Exact Sersic ``b_n``: the root of ``P(2n, b_n) = 1/2``.

    ``P`` is the regularised lower incomplete gamma function, so that ``r_eff``
    encloses half of the total light for every ``n`` (no approximation that
    fails at small ``n``). Differentiable through the implicit-function theorem.

    Parameters
    ----------
    n : array_like
        Sersic index, ``0.2 <= n <= 10`` is the validated range.

    Returns
    -------
    b_n : jax.Array
    """
    return _bn_solve(n)


@sersic_bn.defjvp
def _sersic_bn_jvp(primals, tangents):
    (n,), (dn,) = primals, tangents
    b = _bn_solve(n)
    a = 2.0 * n
    dP_da = _dgammainc_da(a, b)
    dP_db = jnp.exp((a - 1.0) * jnp.log(b) - b - gammaln(a))
    db_dn = -2.0 * dP_da / dP_db
    return b, db_dn * dn


def bessel_k1(t):
    """Modified Bessel function of the second kind, order 1, for ``t > 0``.

    Polynomial approximations of Abramowitz & Stegun 9.8.7 and 9.8.8
    (relative error below 1e-7).
    """
    t = jnp.asarray(t)
    safe_small = jnp.clip(t, 1e-300, 2.0)
    u = (safe_small / 2.0) ** 2
    poly_small = (1.0 + u * (0.15443144 + u * (-0.67278579 + u * (-0.18156897 + u * (
        -0.01919402 + u * (-0.00110404 + u * (-0.00004686)))))))
    small = (safe_small * jnp.log(safe_small / 2.0) * i1(safe_small) + poly_small) / safe_small
    safe_large = jnp.maximum(t, 2.0)
    v = 2.0 / safe_large
    poly_large = (1.25331414 + v * (0.23498619 + v * (-0.03655620 + v * (0.01504268 + v * (
        -0.00780353 + v * (0.00325614 + v * (-0.00068245)))))))
    large = jnp.exp(-safe_large) / jnp.sqrt(safe_large) * poly_large
    return jnp.where(t <= 2.0, small, large)
