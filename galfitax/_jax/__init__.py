"""Pure JAX numerics of galfitax: no astropy, no numpy at the edges.

Everything here is jittable and differentiable; the astropy models in
:mod:`galfitax.models` are the numpy boundary over these functions.
"""
