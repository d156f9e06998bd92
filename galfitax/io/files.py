"""Safe output files: atomic writes that never overwrite inputs or (by default) outputs."""

import os
import tempfile
from pathlib import Path

from galfitax.exceptions import InputFileError

__all__ = ["atomic_write", "atomic_write_text", "check_output_path"]


def check_output_path(path, *, overwrite=False, protected=()):
    """Check that ``path`` may be written; return it as a `~pathlib.Path`.

    Parameters
    ----------
    path : str or path-like
    overwrite : bool
        Allow replacing an existing file.
    protected : iterable of path-like
        Input files that must never be replaced, whatever ``overwrite`` says.

    Raises
    ------
    galfitax.exceptions.InputFileError
        The file exists (and ``overwrite`` is False), is an input, or its
        folder does not exist.
    """
    path = Path(path)
    for other in protected:
        if other is not None and Path(other).exists() and path.exists() and \
                os.path.samefile(path, other):
            raise InputFileError("refusing to overwrite an input file", path)
    if path.exists() and not overwrite:
        raise InputFileError("output file exists (use overwrite=True / --overwrite)", path)
    if not path.parent.is_dir():
        raise InputFileError("output folder does not exist", path)
    return path


def atomic_write(path, write, *, overwrite=False, protected=(), suffix=""):
    """Write a file atomically: ``write(tmp_path)`` then `os.replace` into place.

    The temporary file lives in the same folder (so the rename is atomic) and
    is removed if ``write`` fails.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from galfitax.io.files import atomic_write
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> _ = atomic_write(target, lambda tmp: pathlib.Path(tmp).write_text("hello"))
    >>> target.read_text()
    'hello'
    """
    path = check_output_path(path, overwrite=overwrite, protected=protected)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix,
                                   dir=path.parent)
    os.close(handle)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def atomic_write_text(path, text, *, overwrite=False, protected=()):
    """Write ``text`` to ``path`` atomically (see `atomic_write`)."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text), overwrite=overwrite,
                        protected=protected)
