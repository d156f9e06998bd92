"""Opt-in persistent cache of compiled fit programs (JAX's compilation cache).

A fit program is compiled once per model structure and image shape in a
process (seconds). JAX can keep the compiled programs on disk, so that a new
process fitting the same structure skips XLA compilation. Importing galfitax
never turns this on (it is global JAX configuration); the ``galfitax``
command does, in its own process, unless ``--no-compilation-cache`` is given
or ``GALFITAX_COMPILATION_CACHE=0``.
"""

import os
from pathlib import Path

__all__ = ["default_cache_dir", "enable_compilation_cache"]


def default_cache_dir():
    """``$GALFITAX_CACHE_DIR``, else ``$XDG_CACHE_HOME/galfitax/jax``, else ``~/.cache/galfitax/jax``.

    Examples
    --------
    >>> default_cache_dir().name
    'jax'
    """
    explicit = os.environ.get("GALFITAX_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "galfitax" / "jax"


def enable_compilation_cache(path=None, *, min_compile_seconds=0.5):
    """Turn on JAX's persistent compilation cache for this process.

    Global JAX configuration: call it in scripts you own (the ``galfitax``
    command calls it for you). A cache directory already configured through
    ``JAX_COMPILATION_CACHE_DIR`` or ``jax.config`` is kept.

    Parameters
    ----------
    path : str or path-like, optional
        Cache directory (created if needed); default `default_cache_dir`.
    min_compile_seconds : float
        Only programs that took at least this long to compile are stored.

    Returns
    -------
    pathlib.Path or None
        The cache directory in use, or None if it cannot be created (the
        cache then stays off; nothing else changes).

    Examples
    --------
    >>> import tempfile, jax
    >>> from galfitax.compilation_cache import enable_compilation_cache
    >>> with tempfile.TemporaryDirectory() as tmp:  # doctest: +SKIP
    ...     enable_compilation_cache(tmp)
    """
    import jax

    configured = jax.config.jax_compilation_cache_dir
    if configured:
        return Path(configured)
    directory = Path(default_cache_dir() if path is None else path).expanduser()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_seconds))
    return directory
