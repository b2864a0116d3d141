#!/usr/bin/env bash
# Idempotently install LocalStack (host mode, no Docker) into .local/venvs/localstack.
# Usage: infra/localstack/install.sh [--force]
#   Works from any cwd. Skips the install when the stamp matches the requirement string.
#   Env: PYTHON (default python3; must be 3.11+, LocalStack 4.13.1 is the newest that runs on 3.11).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$REPO_ROOT/.local/venvs/localstack"
PYTHON="${PYTHON:-python3}"
REQS=("localstack-core[runtime]==4.13.1" "cbor2<6" "pyopenssl<26" "cryptography<47")
STAMP="$VENV/.seia-install-stamp"
WANT="$(printf '%s\n' "${REQS[@]}")"

if [[ "${1:-}" != "--force" && -f "$STAMP" && -x "$VENV/bin/python" ]] && [[ "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "localstack venv up to date: $VENV"
  exit 0
fi

start=$(date +%s)
if [[ ! -x "$VENV/bin/python" ]]; then
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV"
fi
rm -f "$STAMP"
"$VENV/bin/python" -m pip install --quiet --upgrade pip 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
# (filter pip's noise about this machine's partial local mirrors; harmless elsewhere)
"$VENV/bin/python" -m pip install --quiet "${REQS[@]}" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
# sanity: the runtime entry point must import
"$VENV/bin/python" -c "import localstack.runtime.main" >/dev/null
printf '%s' "$WANT" >"$STAMP"
echo "localstack installed in $VENV ($(( $(date +%s) - start ))s, $(du -sh "$VENV" | cut -f1))"
