# Sphinx configuration for galfitax (sphinx-astropy).
import datetime
import os

from sphinx_astropy.conf.v2 import *  # noqa: F401,F403

project = "galfitax"
author = "galfitax developers"
copyright = f"{datetime.datetime.now().year}, {author}"

try:
    from galfitax import __version__ as release
except ImportError:  # pragma: no cover
    release = "unknown"
version = release

extensions += ["sphinx_automodapi.automodapi"]  # noqa: F405
html_theme_options = {"github_url": ""}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
nitpicky = False

# Offline builds (no network to fetch intersphinx inventories): GALFITAX_OFFLINE_DOCS=1
if os.environ.get("GALFITAX_OFFLINE_DOCS"):
    intersphinx_mapping = {}
