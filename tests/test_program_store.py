"""Traced fit programs stored with jax.export, so that a new process skips tracing."""

from typing import NamedTuple

import jax
import numpy as np
import pytest

from galfitax import Gaussian2D, LevMarFitter
from galfitax._jax import program_store
from galfitax._jax.render import trace_count
from galfitax.psf import make_kernel
from galfitax.settings import IntegrationSettings


@pytest.fixture
def store(tmp_path):
    if not program_store.available():
        pytest.skip("needs flatbuffers (the galfitax[fast-start] extra)")
    folder = program_store.enable(tmp_path / "programs")
    program_store.forget()
    yield folder
    program_store.disable()
    program_store.forget()


def _problem():
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:18, 0:20]
    truth = Gaussian2D(flux=800.0, fwhm=5.0, x_0=9.3, y_0=8.6, ellip=0.2, theta=30.0)
    data = truth(x, y) + rng.normal(0.0, 1.0, x.shape)
    start = Gaussian2D(flux=500.0, fwhm=6.0, x_0=10.0, y_0=9.0, ellip=0.1, theta=10.0)
    return start, data


def _fit(start, data):
    fitter = LevMarFitter()
    fitted = fitter.fit_image(start, data, sigma=np.ones_like(data))
    return fitted.parameters, fitter.fit_info["chi2"]


def test_a_stored_fit_program_gives_the_fit_of_the_traced_one(store):
    start, data = _problem()
    program_store.disable()
    reference = _fit(start, data)
    program_store.enable(store)
    stored = _fit(start, data)  # traced, exported, written and run from the export
    files = list(store.glob("*.jaxexport"))
    assert len(files) == 1 and files[0].stat().st_size > 1000
    np.testing.assert_allclose(stored[0], reference[0], rtol=1e-12)
    assert stored[1] == pytest.approx(reference[1], rel=1e-12)


class _Pair(NamedTuple):
    scale: object
    shift: object


def test_programs_are_read_back_instead_of_traced(store, monkeypatch):
    traces = []

    def run(static):
        def program(x, pair):  # a new function each time, as in a new process: no trace
            traces.append(1)   # cached by jax
            return x * pair.scale + pair.shift

        return program_store.call("demo", static, jax.jit(program), args)

    args = (np.arange(4.0), _Pair(np.float64(2.0), np.ones(4)))
    expected = np.arange(4.0) * 2.0 + 1.0
    if "registered" not in _Pair.__dict__:
        # argument types jax cannot serialize: the program runs, traced as usual
        with pytest.warns(RuntimeWarning, match="cannot store the traced program"):
            np.testing.assert_array_equal(run((0,)), expected)
        assert not list(store.glob("*.jaxexport"))
        jax.export.register_namedtuple_serialization(_Pair, serialized_name="tests._Pair")
        _Pair.registered = True

    traces.clear()
    np.testing.assert_array_equal(run((1,)), expected)
    assert len(traces) == 1 and len(list(store.glob("*.jaxexport"))) == 1

    program_store.forget()  # as in a new process: only the file is left
    monkeypatch.setattr(jax.export, "export", None)  # reading back must not export again
    np.testing.assert_array_equal(run((1,)), expected)
    assert len(traces) == 1
    monkeypatch.undo()

    (path,) = store.glob("*.jaxexport")
    path.write_bytes(b"not a program")  # a damaged file is replaced, never fatal
    program_store.forget()
    np.testing.assert_array_equal(run((1,)), expected)
    assert len(traces) == 2 and path.stat().st_size > 100

    np.testing.assert_array_equal(run((2,)), expected)  # other static arguments: a new file
    assert len(list(store.glob("*.jaxexport"))) == 2


def test_keys_follow_everything_the_program_depends_on():
    psf = np.outer(np.hanning(7), np.hanning(7)) + 0.01
    psf /= psf.sum()
    kernel = make_kernel(psf)
    same = make_kernel(psf.copy())
    other = make_kernel(np.roll(psf, 1, axis=1))
    args = (np.zeros(3), np.ones((4, 5)), 1.5)

    def key(static, arguments=args):
        return program_store.program_key("fit", static, arguments)

    base = key((("conv", kernel, 3), "chi2"))
    assert base == key((("conv", same, 3), "chi2"))
    assert base != key((("conv", other, 3), "chi2"))
    assert base != key((("conv", kernel, 4), "chi2"))
    assert base != key((("conv", kernel, 3.0), "chi2"))  # 3 and 3.0 trace differently
    assert base != key((("conv", kernel, 3), "cash"))
    assert base != key((("conv", kernel, 3), "chi2"), (np.zeros(3), np.ones((5, 4)), 1.5))
    assert base != key((("conv", kernel, 3), "chi2"), (np.zeros(3), np.ones((4, 5)), 1))
    assert base != key((("conv", kernel, 3), "chi2"),
                       (np.zeros(3, np.float32), np.ones((4, 5)), 1.5))
    assert key((IntegrationSettings(),)) != key((IntegrationSettings(subsampling=5),))
    assert key((("conv", object(), 3), "chi2")) is None  # cannot be written down: not stored


def test_the_store_stays_off_without_flatbuffers(tmp_path, monkeypatch):
    monkeypatch.setattr(program_store, "available", lambda: False)
    assert program_store.enable(tmp_path / "programs") is None
    assert program_store.directory() is None
    assert not (tmp_path / "programs").exists()
