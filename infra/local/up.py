"""``make up``: everything Seia needs locally, on its defaults, in the foreground.

PostgreSQL (found or started) and every migration; LocalStack on 127.0.0.1:4566 with the bucket,
queues, notifications and schedules of template.yaml; the function host that plays Lambda for the
queue- and schedule-driven functions; and the HTTP API on http://127.0.0.1:${SEIA_PORT:-8000}.
Ctrl-C stops all of it. ``SEIA_NO_LOCALSTACK=1`` serves the API alone.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys

from infra.local import postgres

LOCAL = postgres.LOCAL
LOCALSTACK = postgres.ROOT / "infra" / "localstack"


def ensure_secret_key() -> None:
    path = LOCAL / "secret.key"
    if not path.exists():
        LOCAL.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(32) + "\n")
        path.chmod(0o600)


def write_local_env(values: dict) -> None:
    """``.local/env``: what the ``seia`` command needs to reach this local stack from another terminal."""
    (LOCAL / "env").write_text("".join(f"{k}={v}\n" for k, v in sorted(values.items())))


def start_localstack() -> bool:
    """Start LocalStack unless it already answers; True when this process started it."""
    from infra.local.stack import localstack_answers

    if localstack_answers():
        print("LocalStack: already running on 127.0.0.1:4566", flush=True)
        return False
    print("LocalStack: installing (first run only) and starting ...", flush=True)
    subprocess.run(["bash", str(LOCALSTACK / "install.sh")], check=True)
    subprocess.run(["bash", str(LOCALSTACK / "localstack.sh"), "start"], check=True, stdout=subprocess.DEVNULL)
    return True


def local_delivery(port: int) -> dict[str, str]:
    """Webhooks of a local stack: receivers on this machine over http are allowed here (seia.egress), never in
    AWS; the dashboard links of Slack messages point at this API."""
    return {
        "SEIA_ALLOW_HTTP_WEBHOOKS": "1",
        "SEIA_ALLOW_PRIVATE_WEBHOOKS": "1",
        "SEIA_DASHBOARD_URL": f"http://127.0.0.1:{port}/dashboard",
    }


def _stop_on(signum, frame):
    raise KeyboardInterrupt


def main() -> None:
    # Ctrl-C in the terminal, or SIGTERM/SIGINT from a supervisor, stops everything this started.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop_on)
    port = int(os.environ.get("SEIA_PORT", "8000"))
    with_aws = os.environ.get("SEIA_NO_LOCALSTACK") != "1"
    dsn = postgres.resolve()
    LOCAL.mkdir(exist_ok=True)
    (LOCAL / "database_url").write_text(dsn + "\n")
    ensure_secret_key()
    os.environ["DATABASE_URL"] = dsn
    # The private cluster under .local/ is Seia's alone: tenant roles lose CONNECT on postgres and template1.
    own = {"SEIA_DB_OWN_SERVER": "1"} if dsn == postgres.private_dsn() else {}
    os.environ.update(own)
    print(f"PostgreSQL: {dsn.split('@')[-1]}", flush=True)

    from seia.config import get_settings
    from seia.tenancy import TenantAdmin

    report = TenantAdmin(get_settings()).migrate_all()
    print(f"Migrations: admin and {len(report['tenants'])} tenant database(s) up to date", flush=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    host = None
    started_localstack = False
    if with_aws:
        from infra.local import stack, template
        from infra.local.functionhost import FunctionHost

        started_localstack = start_localstack()
        plan = template.plan("seia")
        urls = stack.deploy(plan)
        env = {**stack.aws_environment(), **plan.environment, **local_delivery(port)}
        os.environ.update(env)
        write_local_env(env | own)
        host = FunctionHost(plan, urls)
        host.start()
        for bucket in plan.buckets:
            print(f"Bucket:     s3://{bucket}  (drop files at <tenant>/<model>/<kind>/<name>)", flush=True)
        for c in plan.consumers:
            print(f"Function:   {c.function} <- queue {c.queue}", flush=True)
    else:
        os.environ.update(local_delivery(port))
        write_local_env(own)

    from infra.local.apihost import ApiHost, default_functions, make_server
    from infra.local.throttle import Limits, Throttle

    limits = Limits.from_template()
    try:
        server = make_server(ApiHost(default_functions(), Throttle(limits)), "127.0.0.1", port)
    except OSError as exc:
        raise SystemExit(
            f"cannot listen on 127.0.0.1:{port} ({exc.strerror}): is Seia already up? "
            "Stop it, or pick another port with SEIA_PORT=8001 make up"
        ) from None
    print(
        f"Throttling: {limits.key_rate:g} requests/s per key (burst {limits.key_burst}),"
        f" {limits.stage_rate:g}/s in all (burst {limits.stage_burst}); 429 with Retry-After beyond",
        flush=True,
    )
    print(f"\nSeia API: http://127.0.0.1:{port}   (Ctrl-C stops everything)", flush=True)
    print("Create a tenant in another terminal:  .venv/bin/seia tenant create acme\n", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nstopping", file=sys.stderr)
    finally:
        server.server_close()
        if host:
            host.stop()
        if started_localstack:
            subprocess.run(["bash", str(LOCALSTACK / "localstack.sh"), "stop"], stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
