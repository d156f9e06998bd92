"""Scoped float64 for galfitax numerics, without touching global JAX config."""

import jax

__all__ = ["x64"]


def x64():
    """Context manager enabling float64 in JAX for the enclosed block only.

    galfitax wraps every public computation in it, so fits run in double
    precision whatever the user's global ``jax_enable_x64`` setting, and the
    user's own JAX code outside galfitax calls is unaffected.
    """
    return jax.enable_x64(True)
