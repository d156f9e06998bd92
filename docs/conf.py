# Sphinx configuration for galfitax (sphinx-astropy).
import datetime

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
