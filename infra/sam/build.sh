#!/usr/bin/env bash
# `sam build` (no container) into .aws-sam/build, then the size of each function with its layers,
# unzipped, against Lambda's 250 MB limit, and an import of every handler from the built folders
# alone. Exits non-zero if the build fails, a function is over the limit, or a handler cannot import.
# Usage: infra/sam/build.sh   (or: make sam-build)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY="${PY:-$ROOT/.venv/bin/python}"

env -u PYTHONPATH bash infra/sam/install.sh >/dev/null
mkdir -p .aws-sam
start=$(date +%s)
(
  unset PYTHONPATH  # SAM's own virtualenv must not see the project's packages
  source infra/sam/env.sh
  sam build --template template.yaml --build-dir .aws-sam/build >.aws-sam/build.log 2>&1 \
    || { cat .aws-sam/build.log >&2; exit 1; }
)
echo "sam build: $(( $(date +%s) - start )) s"
PYTHONPATH="$ROOT" "$PY" -m infra.sam.sizes
PYTHONPATH="$ROOT" "$PY" -m infra.sam.import_check
