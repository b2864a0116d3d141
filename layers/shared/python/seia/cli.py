"""The ``seia`` command: tenants, keys and migrations (later: uploads, drift runs, queries)."""

from __future__ import annotations

import argparse
import json
import sys

from seia.config import get_settings
from seia.errors import SeiaError


def _print(value) -> None:
    print(json.dumps(value, indent=2, default=str))


def cmd_tenant_create(args) -> int:
    from seia.tenancy import TenantAdmin

    created = TenantAdmin(get_settings()).create_tenant(args.name)
    _print({"tenant": created.tenant.name, "api_key": created.api_key})
    print("Keep this key: it is shown only now.", file=sys.stderr)
    return 0


def cmd_tenant_list(args) -> int:
    from seia.tenancy import TenantAdmin

    rows = TenantAdmin(get_settings()).list_tenants()
    _print(
        [
            {
                "tenant": r.name,
                "database": r.db_name,
                "created_at": r.created_at.isoformat(),
                "active_keys": r.active_keys,
            }
            for r in rows
        ]
    )
    return 0


def cmd_key_create(args) -> int:
    from seia.tenancy import TenantAdmin

    key = TenantAdmin(get_settings()).create_key(args.tenant)
    _print({"tenant": args.tenant, "api_key": key})
    print("Keep this key: it is shown only now.", file=sys.stderr)
    return 0


def cmd_key_revoke(args) -> int:
    from seia.tenancy import TenantAdmin

    if TenantAdmin(get_settings()).revoke_key(args.key_prefix):
        _print({"revoked": args.key_prefix})
        return 0
    print(f"no active key with prefix {args.key_prefix!r}", file=sys.stderr)
    return 1


def cmd_migrate(args) -> int:
    from seia.tenancy import TenantAdmin

    _print(TenantAdmin(get_settings()).migrate_all())
    return 0


def cmd_drift_run(args) -> int:
    # The drift engine (numpy, scipy) loads only for this command: the rest of the CLI stays light.
    from seia_drift.commands import run_drift

    report = run_drift(get_settings(), args.tenant, args.model)
    _print(report)
    # Scripts and schedulers see a failure by the exit code; the JSON report stays on stdout.
    failed = [
        (tenant, model, result["error"])
        for tenant, models in report.items()
        for model, result in models.items()
        if isinstance(result, dict) and "error" in result
    ]
    for tenant, model, error in failed:
        print(f"error: drift run of {tenant}/{model} failed: {error}", file=sys.stderr)
    return 1 if failed else 0


def cmd_upload(args) -> int:
    from seia.files import upload
    from seia.files.errors import FileRejected
    from seia.files.storage import s3_client

    bucket = args.bucket or get_settings().bucket
    if not bucket:
        print("error: no bucket: set SEIA_BUCKET or pass --bucket", file=sys.stderr)
        return 2
    try:
        location = upload.target_key(args.file, args.tenant, args.model, args.kind, args.name)
    except FileRejected as exc:
        print(f"error: {exc.errors[0].message}", file=sys.stderr)
        return 2
    client = s3_client()
    uploaded = upload.upload(client, args.file, bucket, location)
    _print(uploaded.as_dict())
    if args.wait is None:
        return 0
    result = upload.wait_for_result(client, uploaded, args.wait)
    if result is None:
        print(f"error: no result at s3://{bucket}/{uploaded.result_key} after {args.wait:g} s", file=sys.stderr)
        return 1
    _print(result)
    return 0 if result["status"] == "loaded" else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seia", description="Seia: ML model monitoring")
    sub = parser.add_subparsers(dest="command", required=True)

    tenant = sub.add_parser("tenant", help="create and list tenants").add_subparsers(dest="action", required=True)
    p = tenant.add_parser("create", help="create a tenant, its database and role; prints its first API key")
    p.add_argument("name")
    p.set_defaults(func=cmd_tenant_create)
    tenant.add_parser("list", help="list tenants").set_defaults(func=cmd_tenant_list)

    key = sub.add_parser("key", help="create and revoke API keys").add_subparsers(dest="action", required=True)
    p = key.add_parser("create", help="a new API key for a tenant")
    p.add_argument("tenant")
    p.set_defaults(func=cmd_key_create)
    p = key.add_parser("revoke", help="revoke a key by its prefix (seia_xxxxxxxxxx)")
    p.add_argument("key_prefix")
    p.set_defaults(func=cmd_key_revoke)

    drift = sub.add_parser("drift", help="run the drift engine now").add_subparsers(dest="action", required=True)
    p = drift.add_parser("run", help="run every drift step for every model (or one tenant, one model) at once")
    p.add_argument("--tenant", help="only this tenant")
    p.add_argument("--model", help="only this model (needs --tenant)")
    p.set_defaults(func=cmd_drift_run)

    p = sub.add_parser("upload", help="upload a file to s3://$SEIA_BUCKET/<tenant>/<model>/<kind>/<name>")
    p.add_argument("file")
    p.add_argument("--tenant", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--kind", required=True, choices=["predictions", "ground-truths", "reference"])
    p.add_argument("--name", help="object name (default: the file's name); may contain / for folders")
    p.add_argument("--bucket", help="default: SEIA_BUCKET")
    p.add_argument("--wait", type=float, metavar="SECONDS", help="wait for the result object and print it")
    p.set_defaults(func=cmd_upload)

    sub.add_parser("migrate", help="apply migrations to the admin and every tenant database").set_defaults(
        func=cmd_migrate
    )

    # Last, so that it joins `seia drift` / `seia predictions` groups registered above it.
    from seia.cli_client import add_client_commands

    add_client_commands(sub)
    return parser


def main(argv=None) -> int:
    from seia.config import load_local_env

    load_local_env()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SeiaError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for d in exc.details:
            print(f"  {d.field}: {d.message}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - psycopg connection errors and the like: one line, no DSN
        print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
