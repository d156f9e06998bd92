"""Test configuration shared by the tests, the package doctests and the docs.

Tests run with float64 enabled globally (as optimistix/equinox do); the
library itself never flips this flag, it scopes float64 around its own work.
"""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)


def pytest_configure(config):
    config.option.astropy_header = True
