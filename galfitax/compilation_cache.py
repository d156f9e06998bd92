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

__all__ = ["PROGRAM_FOLDER", "default_cache_dir", "enable_compilation_cache"]

#: Subfolder of the cache directory that holds galfitax's traced fit programs
PROGRAM_FOLDER = "galfitax-programs"


def default_cache_dir():
    """The cache folder: ``$GALFITAX_CACHE_DIR``, else ``$XDG_CACHE_HOME/galfitax/jax``.

    (``~/.cache/galfitax/jax`` when ``XDG_CACHE_HOME`` is not set.)

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


def enable_compilation_cache(path=None, *, min_compile_seconds=0.5, programs=True):
    """Turn on JAX's persistent compilation cache for this process.

    Global JAX configuration: call it in scripts you own (the ``galfitax``
    command calls it for you). A cache directory already configured through
    ``JAX_COMPILATION_CACHE_DIR`` or ``jax.config`` is kept.

    With ``programs``, galfitax also keeps its traced fit programs in the
    subfolder ``galfitax-programs`` of the cache directory (see
    :mod:`galfitax._jax.program_store`): a later process then skips tracing
    as well as compiling (a cached ``galfitax fit`` of a 128 x 128 image
    starts about 1 s sooner on a 2-core machine). That part needs the
    ``flatbuffers`` package (``pip install "galfitax[fast-start]"``) and
    is silently skipped without it.

    Parameters
    ----------
    path : str or path-like, optional
        Cache directory (created if needed); default `default_cache_dir`.
    min_compile_seconds : float
        Only programs that took at least this long to compile are stored.
    programs : bool
        Also store traced fit programs (when ``flatbuffers`` is installed).

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
        directory = Path(configured)
    else:
        directory = Path(default_cache_dir() if path is None else path).expanduser()
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        jax.config.update("jax_compilation_cache_dir", str(directory))
        jax.config.update("jax_persistent_cache_min_compile_time_secs",
                          float(min_compile_seconds))
    if programs:
        from galfitax._jax import program_store

        program_store.enable(directory / PROGRAM_FOLDER)
    return directory
