#!/usr/bin/env bash
# Idempotently install AWS SAM CLI into its own venv .local/venvs/sam.
# Usage: infra/sam/install.sh [--force]
#   Works from any cwd. Skips the install when the stamp matches the requirement string.
#   Afterwards: source infra/sam/env.sh  (puts `sam` on PATH, sets offline env vars)
#   Self-test:  infra/sam/selftest.sh
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$REPO_ROOT/.local/venvs/sam"
PYTHON="${PYTHON:-python3}"
REQS=("aws-sam-cli==1.170.0")
STAMP="$VENV/.seia-install-stamp"
WANT="$(printf '%s\n' "${REQS[@]}")"

# SAM's config dir (see env.sh): telemetry off; version check never due (it would GET pypi.org weekly)
SAM_CONFIG="$REPO_ROOT/.local/sam/config/metadata.json"
if ! grep -q '"lastVersionCheck": 4102444800' "$SAM_CONFIG" 2>/dev/null; then
  mkdir -p "$(dirname "$SAM_CONFIG")"
  printf '{"telemetryEnabled": false, "lastVersionCheck": 4102444800.0}\n' >"$SAM_CONFIG"
fi

if [[ "${1:-}" != "--force" && -f "$STAMP" && -x "$VENV/bin/sam" ]] && [[ "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "sam venv up to date: $VENV"
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
SAM_CLI_TELEMETRY=0 "$VENV/bin/sam" --version
printf '%s' "$WANT" >"$STAMP"
echo "sam installed in $VENV ($(( $(date +%s) - start ))s, $(du -sh "$VENV" | cut -f1))"
