"""``make up``: everything Seia needs locally, on its defaults, in the foreground.

PostgreSQL (found or started), the secret key for local role passwords, every migration, then the
HTTP API on http://127.0.0.1:${SEIA_PORT:-8000}. Ctrl-C stops what it started in the foreground.
"""

from __future__ import annotations

import os
import secrets
import sys

from infra.local import postgres

LOCAL = postgres.LOCAL


def ensure_secret_key() -> None:
    path = LOCAL / "secret.key"
    if not path.exists():
        LOCAL.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(32) + "\n")
        path.chmod(0o600)


def main() -> None:
    port = int(os.environ.get("SEIA_PORT", "8000"))
    dsn = postgres.resolve()
    LOCAL.mkdir(exist_ok=True)
    (LOCAL / "database_url").write_text(dsn + "\n")
    ensure_secret_key()
    os.environ["DATABASE_URL"] = dsn
    print(f"PostgreSQL: {dsn.split('@')[-1]}", flush=True)

    from seia.tenancy import TenantAdmin
    from seia.config import get_settings

    report = TenantAdmin(get_settings()).migrate_all()
    print(f"Migrations: admin and {len(report['tenants'])} tenant database(s) up to date", flush=True)

    from infra.local.apihost import ApiHost, default_functions, make_server
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        server = make_server(ApiHost(default_functions()), "127.0.0.1", port)
    except OSError as exc:
        raise SystemExit(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}): is Seia already up? "
                         "Stop it, or pick another port with SEIA_PORT=8001 make up")
    print(f"\nSeia API: http://127.0.0.1:{port}   (Ctrl-C stops it)", flush=True)
    print("Create a tenant in another terminal:  .venv/bin/seia tenant create acme\n", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nstopping", file=sys.stderr)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
