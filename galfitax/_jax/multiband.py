"""The ``"band"`` plan node: one band of a multiband fit, with a dense forward Jacobian.

Node format (registered in :data:`galfitax._jax.render.NODE_RENDERERS`)::

    ("band", inner, varying, limits)

``inner``
    the band's own plan (typically a ``"conv"`` node);
``varying``
    indices (into the band's parameter vector) of the parameters that the
    fit moves in this band;
``limits``
    ``((index, low, high), ...)`` validity limits of band parameters.

Why a node: in a joint fit the free parameters are coefficients shared by
all bands (``p_band = A_band @ theta + c_band``), so a plain forward-mode
Jacobian would push every coefficient's tangent through every band's
renderer. The node's custom JVP computes the band image's Jacobian with
respect to its ``varying`` parameters once (one tangent each) and applies it
to whatever tangent arrives, so a joint fit of ``B`` bands costs about ``B``
single-band Jacobians however many coefficients there are.

Coefficients of polynomial wavelength dependence cannot be boxed by simple
bounds; instead the image is NaN when a band parameter leaves its ``limits``
(the solver rejects such trial steps), so e.g. a Sersic index or an
effective radius never goes out of range in any band.
"""

import jax
import jax.numpy as jnp

from galfitax._jax.render import NODE_RENDERERS, render_plan_grid

__all__ = ["render_band"]


def _within_limits(limits, pvec):
    ok = jnp.asarray(True)
    for index, low, high in limits:
        value = pvec[index]
        if low is not None:
            ok = ok & (value >= low)
        if high is not None:
            ok = ok & (value <= high)
    return ok


def _band_image(plan, pvec, x_start, y_start, h, shape):
    _, inner, _, limits = plan
    image = render_plan_grid(inner, pvec, x_start, y_start, h, shape)
    if not limits:
        return image
    return jnp.where(_within_limits(limits, pvec), image, jnp.nan)


def render_band(plan, pvec, x_start, y_start, h, shape):
    """Image of a ``"band"`` node (see the module docstring)."""
    varying = plan[2]

    @jax.custom_jvp
    def image(pvec, x_start, y_start):
        return _band_image(plan, pvec, x_start, y_start, h, shape)

    @image.defjvp
    def image_jvp(primals, tangents):
        pvec, x_start, y_start = primals
        dpvec = tangents[0]
        if not varying:
            out = image(pvec, x_start, y_start)
            return out, jnp.zeros_like(out)
        index = jnp.asarray(varying, dtype=int)

        def of_varying(values):
            return _band_image(plan, pvec.at[index].set(values), x_start, y_start, h, shape)

        out, linear = jax.linearize(of_varying, pvec[index])
        basis = jnp.eye(len(varying), dtype=pvec.dtype)
        jacobian = jax.vmap(linear, out_axes=-1)(basis)
        return out, jacobian @ dpvec[index]

    return image(pvec, x_start, y_start)


NODE_RENDERERS["band"] = render_band
