#!/usr/bin/env bash
# SAM CLI self-test: validate, lint and build (no container) infra/sam/selftest/template.yaml.
# Usage: infra/sam/selftest.sh        (runs infra/sam/install.sh first; idempotent)
# Build output: .local/sam/selftest-build (function + layer with BuildMethod python3.11).
# Needs: python3.11 on PATH (sam build without container uses the local interpreter matching the
# runtime) and PyPI for requirements.txt; never AWS.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$REPO_ROOT/infra/sam/install.sh"
# shellcheck source=env.sh
source "$REPO_ROOT/infra/sam/env.sh"
T="$REPO_ROOT/infra/sam/selftest/template.yaml"
B="$REPO_ROOT/.local/sam/selftest-build"
cd "$REPO_ROOT"
sam validate --lint --template "$T"
sam validate --template "$T"
rm -rf "$B"
sam build --template "$T" --build-dir "$B" --cache-dir "$REPO_ROOT/.local/sam/cache" 2>&1 \
  | grep -v "is ignored: it is neither a file nor a directory" | sed -n '/^Build/,/^Built Template/p'
test -f "$B/Fn/app.py" && test -f "$B/Fn/six.py"
test -f "$B/SharedLayer/python/selftest_shared.py" && test -f "$B/SharedLayer/python/six.py"
test -f "$B/template.yaml"
echo "sam selftest: PASS"
