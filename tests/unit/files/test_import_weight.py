"""The file-ingest handler imports fast: pyarrow (and numpy) load only when a file is parsed."""

import os
import subprocess
import sys


def test_file_ingest_app_imports_no_heavy_library():
    code = (
        "import sys, file_ingest_app; "
        "print(','.join(m for m in ('numpy', 'pandas', 'scipy', 'pyarrow') if m in sys.modules))"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == ""
