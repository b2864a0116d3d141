#!/usr/bin/env bash
# Run LocalStack on the host (no Docker) from the venv made by infra/localstack/install.sh.
#
# Usage: infra/localstack/localstack.sh start|stop|status|wait|restart|logs
#   start    start in the background (no-op when already up), then wait until ready
#   stop     SIGTERM the process group, SIGKILL after 15 s; removes the pid file
#   status   exit 0 and print health JSON when up, exit 1 otherwise
#   wait     poll /_localstack/health until every service in $SERVICES is available
#            (timeout $LOCALSTACK_WAIT_TIMEOUT, default 60 s)
#   restart  stop + start (state is in memory only, so this wipes everything)
#   logs     tail -f the log
#
# Endpoint: http://127.0.0.1:4566, region us-east-1, account 000000000000, creds test/test.
# Files:    .local/log/localstack.log, .local/run/localstack.pid, .local/localstack/ (FILESYSTEM_ROOT)
# Override any LocalStack variable by exporting it before calling (e.g. SERVICES, DEBUG=1).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$REPO_ROOT/.local/venvs/localstack"
LOG_DIR="$REPO_ROOT/.local/log"
RUN_DIR="$REPO_ROOT/.local/run"
LOG_FILE="$LOG_DIR/localstack.log"
PID_FILE="$RUN_DIR/localstack.pid"
ENDPOINT="http://127.0.0.1:4566"
HEALTH_URL="$ENDPOINT/_localstack/health"
WAIT_TIMEOUT="${LOCALSTACK_WAIT_TIMEOUT:-60}"

export SERVICES="${SERVICES:-s3,sqs,sns,events,secretsmanager,apigateway,cloudformation,iam,sts,logs}"
export GATEWAY_LISTEN="${GATEWAY_LISTEN:-127.0.0.1:4566}"
export GATEWAY_SERVER="${GATEWAY_SERVER:-hypercorn}"
# No network here: *.localhost.localstack.cloud does not resolve, so every URL LocalStack
# hands out (SQS queue URLs, CFN outputs) must point at the loopback IP.
export LOCALSTACK_HOST="${LOCALSTACK_HOST:-127.0.0.1:4566}"
export SQS_ENDPOINT_STRATEGY="${SQS_ENDPOINT_STRATEGY:-path}"
export DNS_ADDRESS="${DNS_ADDRESS:-0}"
export DISABLE_EVENTS="${DISABLE_EVENTS:-1}"
export SKIP_SSL_CERT_DOWNLOAD="${SKIP_SSL_CERT_DOWNLOAD:-1}"
export PERSISTENCE=0
export FILESYSTEM_ROOT="${FILESYSTEM_ROOT:-$REPO_ROOT/.local/localstack}"
export LOCALSTACK_VOLUME_DIR="${LOCALSTACK_VOLUME_DIR:-$FILESYSTEM_ROOT/var/lib/localstack}"

pid_alive() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid; pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

health_json() { curl -fsS --max-time 2 "$HEALTH_URL" 2>/dev/null; }

# true when every service named in $SERVICES reports "available" or "running"
services_ready() {
  local json; json="$(health_json)" || return 1
  SERVICES="$SERVICES" JSON="$json" python3 - <<'PY'
import json, os, sys
h = json.loads(os.environ["JSON"]).get("services", {})
want = [s.strip() for s in os.environ["SERVICES"].split(",") if s.strip()]
bad = [s for s in want if h.get(s) not in ("available", "running")]
sys.exit(1 if bad else 0)
PY
}

cmd_wait() {
  local start=$SECONDS
  while (( SECONDS - start < WAIT_TIMEOUT )); do
    if services_ready; then
      echo "localstack ready at $ENDPOINT ($(( SECONDS - start ))s waited)"
      return 0
    fi
    if [[ -f "$PID_FILE" ]] && ! pid_alive; then
      echo "ERROR: localstack process $(cat "$PID_FILE") died; last log lines ($LOG_FILE):" >&2
      tail -n 30 "$LOG_FILE" >&2 || true
      return 1
    fi
    sleep 0.5
  done
  echo "ERROR: localstack not ready after ${WAIT_TIMEOUT}s at $HEALTH_URL (wanted: $SERVICES)" >&2
  echo "health: $(health_json || echo 'no answer')" >&2
  echo "last log lines ($LOG_FILE):" >&2
  tail -n 30 "$LOG_FILE" >&2 || true
  return 1
}

cmd_start() {
  if pid_alive; then
    echo "localstack already running (pid $(cat "$PID_FILE"))"
    cmd_wait
    return
  fi
  if health_json >/dev/null; then
    echo "ERROR: something else already answers on $ENDPOINT (no pid file of ours)" >&2
    return 1
  fi
  if [[ ! -x "$VENV/bin/python" ]]; then
    echo "ERROR: $VENV missing; run infra/localstack/install.sh first" >&2
    return 1
  fi
  mkdir -p "$LOG_DIR" "$RUN_DIR" "$FILESYSTEM_ROOT"
  # fresh in-memory state each start; clear leftovers of the previous run's tmp dir
  rm -rf "$FILESYSTEM_ROOT/var/lib/localstack/tmp"
  local t0; t0=$(date +%s.%N)
  # setsid: own session/process group, so stop can signal the whole tree
  setsid "$VENV/bin/python" -m localstack.runtime.main </dev/null >"$LOG_FILE" 2>&1 &
  echo $! >"$PID_FILE"
  echo "localstack starting (pid $!, log $LOG_FILE)"
  cmd_wait
  echo "time to ready: $(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')")s"
}

cmd_stop() {
  if ! pid_alive; then
    echo "localstack not running"
    rm -f "$PID_FILE"
    return 0
  fi
  local pid; pid="$(cat "$PID_FILE")"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "localstack did not exit on SIGTERM; sending SIGKILL" >&2
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE"
  echo "localstack stopped (pid $pid)"
}

cmd_status() {
  if pid_alive && health_json >/dev/null; then
    echo "localstack running (pid $(cat "$PID_FILE")) at $ENDPOINT"
    health_json; echo
    return 0
  fi
  if pid_alive; then echo "localstack process up (pid $(cat "$PID_FILE")) but not answering"; return 1; fi
  echo "localstack not running"
  return 1
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  wait) cmd_wait ;;
  restart) cmd_stop; cmd_start ;;
  logs) exec tail -n 100 -f "$LOG_FILE" ;;
  *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
