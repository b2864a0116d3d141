"""The ingest and query handlers must not pull numpy, pandas or scipy onto their import path."""

import os
import subprocess
import sys

import pytest

HEAVY = ("numpy", "pandas", "scipy", "pyarrow")


@pytest.mark.parametrize("module", ["ingest_app", "query_app"])
def test_handler_modules_import_no_heavy_library(module):
    code = f"import sys, {module}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == ""
