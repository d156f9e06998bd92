"""Locate and import the shared bench scripts (``make_cases.py``, ``run_peers.py``).

They live in ``../shared/bench`` next to the repository (or where the
``GALFITAX_BENCH_DIR`` environment variable points); they are imported, not copied.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH_DIR = os.environ.get(
    "GALFITAX_BENCH_DIR", os.path.normpath(os.path.join(HERE, "..", "..", "shared", "bench")))
if not os.path.isfile(os.path.join(BENCH_DIR, "make_cases.py")):
    raise SystemExit(f"make_cases.py not found in {BENCH_DIR}; set GALFITAX_BENCH_DIR")
sys.path.insert(0, BENCH_DIR)

import make_cases as mc  # noqa: E402
import run_peers  # noqa: E402

__all__ = ["BENCH_DIR", "mc", "run_peers"]
