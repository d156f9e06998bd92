"""The opt-in persistent compilation cache (global JAX config: tested in subprocesses)."""

import json
import os
import subprocess
import sys

import jax

from galfitax.cli import console_main

SCRIPT = """
import json, sys
import jax
from galfitax.compilation_cache import enable_compilation_cache
from galfitax._jax import program_store
used = enable_compilation_cache(sys.argv[1], min_compile_seconds=0.0,
                                programs=sys.argv[2] == "1")
jax.jit(lambda x: x * 2.0 + 1.0)(3.0).block_until_ready()
print(json.dumps({"used": str(used), "config": jax.config.jax_compilation_cache_dir,
                  "programs": str(program_store.directory()),
                  "available": program_store.available()}))
"""


def run_script(path, programs=True, **env):
    environment = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    environment.update(env, JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(path), "1" if programs else "0"],
                          capture_output=True, text=True, env=environment, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_cache_directory_is_created_and_filled(tmp_path):
    folder = tmp_path / "nested" / "cache"
    out = run_script(folder)
    assert out["used"] == str(folder) == out["config"]
    assert any(folder.glob("*-cache"))  # the compiled program was written
    if out["available"]:  # traced programs go to a subfolder (with flatbuffers installed)
        assert out["programs"] == str(folder / "galfitax-programs")
        assert (folder / "galfitax-programs").is_dir()


def test_traced_programs_can_be_left_out(tmp_path):
    out = run_script(tmp_path, programs=False)
    assert out["used"] == str(tmp_path) and out["programs"] == "None"


def test_a_cache_configured_by_the_user_is_kept(tmp_path):
    theirs = tmp_path / "theirs"
    out = run_script(tmp_path / "ours", JAX_COMPILATION_CACHE_DIR=str(theirs))
    assert out["used"] == str(theirs) == out["config"]
    assert not (tmp_path / "ours").exists()


def test_console_flag_keeps_the_cache_off(tmp_path, capsys):
    before = jax.config.jax_compilation_cache_dir
    code = console_main(["--no-compilation-cache", "fit", str(tmp_path / "missing.feedme"),
                         "--quiet"])
    assert code == 2
    assert "missing.feedme" in capsys.readouterr().err
    assert jax.config.jax_compilation_cache_dir == before
