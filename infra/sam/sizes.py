"""What `sam build` made, measured against Lambda's limit: each function's code plus its layers, unzipped.

Reads the built template (.aws-sam/build/template.yaml): a function's layers are those of Globals
followed by its own, as SAM merges them. Lambda refuses a function whose code and layers together
exceed 250 MB unzipped; this prints one row per function and exits 1 if any does.

    python -m infra.sam.sizes [--build-dir .aws-sam/build]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from infra.local.template import ROOT, load

LIMIT = 250 * 1024 * 1024  # Lambda: 250 MB unzipped, function code and every layer together
MiB = 1024 * 1024


def unzipped_size(folder: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                total += os.path.getsize(path)
    return total


def human(size: int) -> str:
    return f"{size / MiB:.1f} MiB" if size >= MiB else f"{size / 1024:.0f} KiB"


def _layer_ids(refs) -> list[str]:
    return [r["Ref"] for r in refs or [] if isinstance(r, dict) and "Ref" in r]


def report(build_dir: Path) -> tuple[list[tuple[str, int, list[tuple[str, int]], int]], bool]:
    template = load(build_dir / "template.yaml")
    resources = template["Resources"]
    global_layers = _layer_ids(((template.get("Globals") or {}).get("Function") or {}).get("Layers"))
    rows, ok = [], True
    for name, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        code = unzipped_size(build_dir / props["CodeUri"])
        layers = []
        for layer in global_layers + _layer_ids(props.get("Layers")):
            layers.append((layer, unzipped_size(build_dir / resources[layer]["Properties"]["ContentUri"])))
        total = code + sum(size for _, size in layers)
        ok &= total <= LIMIT
        rows.append((name, code, layers, total))
    return rows, ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    args = parser.parse_args(argv)
    rows, ok = report(args.build_dir)
    print(f"{'function':<22} {'code':>9}  {'+ layers (unzipped)':<36} {'= total':>9}  of 250 MiB")
    for name, code, layers, total in rows:
        parts = " + ".join(f"{layer.removesuffix('Layer')} {human(size)}" for layer, size in layers)
        verdict = "ok" if total <= LIMIT else "OVER THE LIMIT"
        print(f"{name:<22} {human(code):>9}  {parts:<36} {human(total):>9}  {100 * total / LIMIT:>3.0f}% {verdict}")
    if not ok:
        print(
            "A function and its layers exceed Lambda's 250 MB unzipped limit: Lambda would refuse it.", file=sys.stderr
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
