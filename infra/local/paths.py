"""Where each part's code sits, as Lambda (and pytest's ``pythonpath``) sees it: the shared layer's
``python/`` folder, each function's code folder, the operator CLI and the client.

Keep in step with ``pythonpath`` in pyproject.toml and ``PYTHONPATH`` in the Makefile.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE_FOLDERS = (
    "layers/shared/python",
    "functions/ingest",
    "functions/query",
    "functions/files",
    "functions/drift",
    "admin",
    "client",
    ".",
)


def pythonpath() -> str:
    """A ``PYTHONPATH`` value for a child process that runs Seia's code from this checkout."""
    return os.pathsep.join(str(ROOT / folder) for folder in CODE_FOLDERS)
