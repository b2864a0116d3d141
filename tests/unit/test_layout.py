"""Imports point one way: functions use the layer, never the layer a function; no HTTP function uses
another function's code; the HTTP functions never reach numpy, scipy, pandas or pyarrow; the operator's
CLI (admin/) may use the drift engine, but no function uses admin/; the client installs alone.

Two checks: every ``import`` statement in the source (function-local ones included, read with
``ast``), and what each handler really loads, read from ``sys.modules`` in a fresh interpreter.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"numpy", "scipy", "pandas", "pyarrow"}
SERVER = {"seia", "seia_ingest", "seia_query", "seia_files", "seia_drift", "seia_admin"}
FUNCTIONS = {"seia_ingest", "seia_query", "seia_files", "seia_drift"}

# folder -> (what it is, top-level packages it may not import)
RULES = {
    "layers/shared/python": ("the shared layer", FUNCTIONS | {"seia_admin", "seia_client"} | HEAVY),
    "functions/ingest": ("the ingest function", (FUNCTIONS - {"seia_ingest"}) | {"seia_admin", "seia_client"} | HEAVY),
    "functions/query": ("the query function", (FUNCTIONS - {"seia_query"}) | {"seia_admin", "seia_client"} | HEAVY),
    "functions/files": ("the file-ingest function", (FUNCTIONS - {"seia_files"}) | {"seia_admin", "seia_client"}),
    "functions/drift": ("the drift functions", (FUNCTIONS - {"seia_drift"}) | {"seia_admin", "seia_client"}),
    "functions/authorizer": ("the API key authorizer", FUNCTIONS | {"seia_admin", "seia_client"} | HEAVY),
    "client": ("the client distribution", SERVER | {"chalice", "psycopg", "psycopg_pool"}),
    # The operator's CLI may run the drift engine (seia drift run) and extends the client's `seia`
    # command; the HTTP functions' code is theirs alone.
    "admin": ("the operator's CLI", {"seia_ingest", "seia_query", "seia_files"}),
}


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """Top-level package of every absolute import in the file, with its line."""
    tree = ast.parse(path.read_text(), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update((alias.name.split(".")[0], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add((node.module.split(".")[0], node.lineno))
    return out


def violations(folder: str) -> list[str]:
    what, forbidden = RULES[folder]
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for package, line in sorted(imported_packages(path)):
            if package in forbidden:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {package} ({what} may not)")
    return found


@pytest.mark.parametrize("folder", sorted(RULES))
def test_imports_point_the_right_way(folder):
    assert violations(folder) == []


def test_the_check_sees_a_function_local_import(tmp_path):
    # A lazy import inside a function body counts as much as one at the top of the module.
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from seia_drift.commands import run_drift\n    return run_drift\n")
    assert ("seia_drift", 2) in imported_packages(module)


@pytest.mark.parametrize(
    ("handler", "forbidden"),
    [
        ("ingest_app", HEAVY | {"seia_query", "seia_files", "seia_drift", "seia_admin", "seia_client"}),
        ("query_app", HEAVY | {"seia_ingest", "seia_files", "seia_drift", "seia_admin", "seia_client"}),
        ("file_ingest_app", HEAVY | {"seia_ingest", "seia_query", "seia_drift", "seia_admin", "seia_client"}),
        ("drift_app", {"seia_ingest", "seia_query", "seia_files", "seia_admin", "seia_client"}),
        (
            "authorizer_app",
            HEAVY | {"seia_ingest", "seia_query", "seia_files", "seia_drift", "seia_admin", "seia_client"},
        ),
    ],
)
def test_a_handler_loads_only_its_own_code(handler, forbidden):
    code = f"import sys, {handler}; print(','.join(sorted(m for m in {sorted(forbidden)!r} if m in sys.modules)))"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == ""


def test_each_handler_is_loaded_from_its_functions_folder():
    # Locally (tests, `make up`) every function folder is on one path and handlers load by module name;
    # in AWS a function has only its CodeUri. The module found by name must be the one in that folder.
    from infra.local.template import load

    functions = {
        name: res["Properties"]
        for name, res in load()["Resources"].items()
        if res["Type"] == "AWS::Serverless::Function"
    }
    assert len(functions) == 7
    for name, props in functions.items():
        module = props["Handler"].rpartition(".")[0]
        spec = importlib.util.find_spec(module)
        assert spec is not None, f"{name}: {module} not found"
        assert Path(spec.origin).parent == (ROOT / props["CodeUri"]).resolve(), f"{name}: {spec.origin}"
