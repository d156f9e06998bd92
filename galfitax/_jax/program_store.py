"""Traced fit programs kept on disk (``jax.export``), so a new process skips tracing.

JAX's persistent compilation cache (:mod:`galfitax.compilation_cache`) spares
a new process the XLA compilation of a fit program, but the program is still
traced and lowered first: 1-2 s for a PSF-convolved Sersic fit on a 2-core
machine, most of what a cached ``galfitax fit`` then spends before its first
result. With the store on, the first process that runs a program exports it
(:func:`jax.export.export`: the lowered StableHLO module with its argument and
result structure) to a file; later processes read that file (milliseconds)
and the compilation cache supplies the executable.

A stored program is used only for a call whose key matches everything the
traced program depends on:

* the galfitax source (a digest of every ``.py`` file of the package) and
  the versions of jax, jaxlib, numpy and scipy;
* the backend (platform and device kind) and the JAX settings that change
  tracing (x64, default matmul precision, promotion rules, debug checks);
* the program's name and static arguments, encoded exactly: render plans
  are tuples of numbers and strings, PSF kernels enter by a digest of their
  samples, settings objects field by field. A static argument holding
  anything else cannot be encoded, and that call is traced as usual;
* the structure, shapes, dtypes and weak types of the dynamic arguments.

The store needs the ``flatbuffers`` package (the format of
:meth:`jax.export.Exported.serialize`; ``pip install "galfitax[fast-start]"``).
Without it, or when a file cannot be read, programs are traced as usual:
the store only ever saves time. It is off unless :func:`enable` is called
(:func:`galfitax.compilation_cache.enable_compilation_cache` does, and the
``galfitax`` command calls that).
"""

import dataclasses
import enum
import hashlib
import importlib.util
import os
import secrets
import warnings
from pathlib import Path

import jax
import numpy as np

__all__ = ["available", "call", "directory", "disable", "enable", "forget", "program_key"]

_SUFFIX = ".jaxexport"
_STATE = {"directory": None}
# key -> jitted callable of a deserialized (or freshly exported) program; None: not storable
_LOADED = {}
_TRACING_SETTINGS = ("jax_enable_x64", "jax_default_matmul_precision",
                     "jax_numpy_rank_promotion", "jax_numpy_dtype_promotion",
                     "jax_enable_checks", "jax_debug_nans", "jax_debug_infs")
_REGISTERED = {"done": False}


class _Unencodable(Exception):
    """A static argument whose value cannot be written down exactly."""


def available():
    """Whether programs can be serialized here (``flatbuffers`` installed, jax recent enough)."""
    return (importlib.util.find_spec("flatbuffers") is not None and hasattr(jax, "typeof")
            and hasattr(jax.export, "register_namedtuple_serialization"))


def enable(path):
    """Keep traced programs in the folder ``path`` (created if needed).

    Returns the folder, or None if it cannot be created or ``flatbuffers``
    is missing (the store then stays off).
    """
    if not available():
        return None
    folder = Path(path).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    _register_types()
    _STATE["directory"] = folder
    return folder


def disable():
    """Stop using the store (programs already loaded in this process stay loaded)."""
    _STATE["directory"] = None


def forget():
    """Drop the programs loaded in this process (the files stay): the next call reads them."""
    _LOADED.clear()


def directory():
    """The folder in use, or None when the store is off."""
    return _STATE["directory"]


def _register_types():
    """Let ``jax.export`` serialize the argument and result tuples of galfitax programs."""
    if _REGISTERED["done"]:
        return
    from galfitax._jax.lm import LMOptions, LMResult
    from galfitax._jax.objective import TermData

    for kind in (LMOptions, LMResult, TermData):
        jax.export.register_namedtuple_serialization(
            kind, serialized_name=f"galfitax.{kind.__name__}")
    _REGISTERED["done"] = True


def _encode(value):
    """An exact, deterministic text for a static argument (raises `_Unencodable`)."""
    from galfitax.psf.kernels import PSFKernel

    if value is None or isinstance(value, (bool, int, str, bytes)):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, float):
        return f"float:{value!r}"
    if isinstance(value, np.generic):
        return f"{value.dtype.str}:{value.item()!r}"
    if isinstance(value, enum.Enum):
        return f"{type(value).__qualname__}.{value.name}"
    if isinstance(value, np.ndarray):
        digest = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
        return f"ndarray:{value.dtype.str}:{value.shape}:{digest}"
    if isinstance(value, PSFKernel):
        return f"PSFKernel:{_encode(value.array)}:{value.oversampling!r}:{value.pixel_response!r}"
    if isinstance(value, (tuple, list)):
        inner = ",".join(_encode(item) for item in value)
        return f"{type(value).__qualname__}({inner})"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        inner = ",".join(f"{field.name}={_encode(getattr(value, field.name))}"
                         for field in dataclasses.fields(value))
        return f"{type(value).__module__}.{type(value).__qualname__}({inner})"
    raise _Unencodable(type(value).__name__)


_SOURCE = {}


def _source_digest():
    """Digest of the galfitax package source and of the libraries that shape a trace."""
    if "digest" not in _SOURCE:
        import jaxlib
        import scipy

        root = Path(__file__).resolve().parent.parent
        digest = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
        for version in (jax.__version__, jaxlib.__version__, np.__version__, scipy.__version__):
            digest.update(version.encode())
        _SOURCE["digest"] = digest.hexdigest()
    return _SOURCE["digest"]


def program_key(name, static, args):
    """Key of the program ``name`` with static arguments ``static`` called on ``args``.

    Returns None when a static argument cannot be encoded exactly (the call
    is then not stored).
    """
    try:
        static_text = _encode(tuple(static))
    except _Unencodable:
        return None
    leaves, treedef = jax.tree_util.tree_flatten(args)
    avals = []
    for leaf in leaves:
        aval = jax.typeof(leaf)
        avals.append(f"{aval.dtype}{tuple(aval.shape)}{'w' if aval.weak_type else ''}")
    device = jax.devices()[0]
    settings = [f"{setting}={getattr(jax.config, setting, None)!r}"
                for setting in _TRACING_SETTINGS]
    text = "\n".join([_source_digest(), device.platform, str(device.device_kind), *settings,
                      name, static_text, str(treedef), *avals])
    return hashlib.sha256(text.encode()).hexdigest()


def call(name, static, jitted, args):
    """``jitted(*args)``, from a stored program when the store holds one for this call.

    Parameters
    ----------
    name : str
        Name of the program (part of the key).
    static : tuple
        The static arguments ``jitted`` was built from (part of the key).
    jitted : callable
        The ``jax.jit``-ed program; traced, exported and stored on a miss.
    args : tuple
        Its dynamic arguments.
    """
    folder = _STATE["directory"]
    if folder is None or jax.config.jax_disable_jit or jax.config.jax_default_device is not None:
        # (a program is exported for the default backend: not under jax.default_device)
        return jitted(*args)
    key = program_key(name, static, args)
    if key is None:
        return jitted(*args)
    if key not in _LOADED:
        _LOADED[key] = _load(folder / (key + _SUFFIX)) or _export(folder / (key + _SUFFIX),
                                                                    jitted, args)
    program = _LOADED[key]
    return jitted(*args) if program is None else program(*args)


def _load(path):
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    try:
        exported = jax.export.deserialize(bytearray(blob))
    except Exception:  # noqa: BLE001 - a damaged or foreign file: trace and store anew
        return None
    return jax.jit(exported.call)


def _export(path, jitted, args):
    try:
        exported = jax.export.export(jitted)(*args)
        blob = exported.serialize()
    except Exception as exc:  # noqa: BLE001 - a program jax cannot export is traced each time
        warnings.warn(f"galfitax: cannot store the traced program ({exc}); it will be traced "
                      "in every process", RuntimeWarning, stacklevel=3)
        return None
    # a new file beside the target, renamed into place; created with the umask's permissions
    # (not mkstemp's 0600), like JAX's own cache entries, so a shared cache folder is shared
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(handle, "wb") as stream:
            stream.write(blob)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only or full disk: this process still uses the exported program
    finally:
        if tmp.exists():
            tmp.unlink()
    return jax.jit(exported.call)
