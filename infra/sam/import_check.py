"""Import every handler of the built template from its built folders alone, as Lambda would.

Each function's handler, then every module of its code folder, is imported in a fresh, isolated
interpreter (``python -I``) whose path is the function's code folder followed by its layers' ``python/``
folders, so a module stripped from a layer by mistake fails here and not in AWS. What the Lambda runtime itself provides (boto3 and its
dependencies) is appended last, from a folder holding only those packages.

    python -m infra.sam.import_check [--build-dir .aws-sam/build]
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
from pathlib import Path

from infra.local.template import ROOT, load
from infra.sam.sizes import _layer_ids

PROBE = """
import importlib, pkgutil, sys
sys.path[:0] = {paths!r}
sys.path.append({runtime!r})
module, _, attr = {handler!r}.rpartition(".")
getattr(importlib.import_module(module), attr)
for name in {lazy!r}:
    importlib.import_module(name)
# Every module of the function's own code too: a route may import its module only when called.
for info in pkgutil.walk_packages([{paths[0]!r}], onerror=lambda name: importlib.import_module(name)):
    importlib.import_module(info.name)
"""
# Modules a handler imports only when it needs them (in a function body), by handler.
LAZY = {
    "file_ingest_app.handler": ["pyarrow.parquet", "pyarrow.csv", "pyarrow.json", "pyarrow.compute", "numpy"],
    "drift_app.planner": ["boto3"],
}


# What Lambda's python3.11 runtime ships besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


def runtime_folder(into: Path) -> Path:
    for name in RUNTIME_PACKAGES:
        module = importlib.import_module(name)
        assert module.__file__ is not None  # a package installed from a wheel, not a namespace
        source = Path(module.__file__)
        source = source.parent if source.name == "__init__.py" else source
        (into / source.name).symlink_to(source)
    return into


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="seia-lambda-runtime-") as tmp:
        return check(args.build_dir, str(runtime_folder(Path(tmp))))


def check(build_dir: Path, runtime: str) -> int:
    template = load(build_dir / "template.yaml")
    resources = template["Resources"]
    global_layers = _layer_ids(((template.get("Globals") or {}).get("Function") or {}).get("Layers"))
    failed = 0
    for name, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        paths = [str(build_dir / props["CodeUri"])] + [
            str(build_dir / resources[layer]["Properties"]["ContentUri"] / "python")
            for layer in global_layers + _layer_ids(props.get("Layers"))
        ]
        probe = PROBE.format(
            paths=paths, runtime=runtime, handler=props["Handler"], lazy=LAZY.get(props["Handler"], [])
        )
        # -S: not even this interpreter's site-packages, which hold everything the layers should.
        result = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", probe], capture_output=True, text=True)
        if result.returncode:
            failed += 1
            print(f"{name}: cannot import {props['Handler']}\n{result.stderr.strip()[-2000:]}", file=sys.stderr)
        else:
            print(f"{name}: {props['Handler']} imports from its code and layers")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
