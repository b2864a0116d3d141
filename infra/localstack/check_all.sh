#!/usr/bin/env bash
# Run every LocalStack check (starting LocalStack if it is not up; it is left running).
# Usage: infra/localstack/check_all.sh [--quick]   (--quick skips the ~60 s scheduled-rule check)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$HERE/install.sh"
"$HERE/localstack.sh" start
checks=(check_s3_sqs.py check_sqs_dlq.py check_secrets.py check_cfn.py)
[[ "${1:-}" == "--quick" ]] || checks+=(check_events_schedule.py)
pass=0 fail=0
for c in "${checks[@]}"; do
  t0=$SECONDS
  if python3 "$HERE/$c" >"/tmp/seia-$c.log" 2>&1; then
    pass=$((pass + 1)); echo "PASS $c ($((SECONDS - t0))s)"
  else
    fail=$((fail + 1)); echo "FAIL $c ($((SECONDS - t0))s):"; tail -n 20 "/tmp/seia-$c.log"
  fi
done
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
