"""The operator's ``seia`` commands: tenants, keys, migrations and drift runs.

The ``seia`` command itself belongs to the client (``seia_client.cli``); this module plugs into it
through the ``seia.cli`` entry point group when the server package is installed.
"""

from __future__ import annotations

import functools
import json
import sys

from seia.config import get_settings
from seia.errors import SeiaError


def _print(value) -> None:
    print(json.dumps(value, indent=2, default=str))


def cmd_tenant_create(args) -> int:
    from seia.tenancy import TenantAdmin

    admin = TenantAdmin(get_settings())
    created = admin.create_tenant(args.name, args.server)
    _print(
        {
            "tenant": created.tenant.name,
            "server": admin.server_of(created.tenant).name,
            "api_key": created.api_key,
            "scopes": ["admin"],
        }
    )
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
                "server": r.server,
                "moving": r.move_state,
            }
            for r in rows
        ]
    )
    return 0


def cmd_tenant_delete(args) -> int:
    from seia.tenancy import TenantAdmin

    if not args.yes:
        print(
            f"error: `seia tenant delete {args.tenant}` drops the tenant's database (every model, row and result), "
            "its role, keys and secrets, for good; nothing is deleted without --yes",
            file=sys.stderr,
        )
        return 2
    done = TenantAdmin(get_settings()).delete_tenant(args.tenant)
    _print(done)
    if done.get("files_deleted") is None:
        print(
            "No files bucket is configured (SEIA_BUCKET): the tenant's objects in it, if any, were not deleted.",
            file=sys.stderr,
        )
    print("Run `seia usage-plan sync` to drop its keys from API Gateway's usage plan (AWS).", file=sys.stderr)
    return 0


USAGE_COLUMNS = ("TENANT", "MODEL", "PREDICTIONS", "GROUND_TRUTHS", "REFERENCE", "BYTES", "PARTITIONS")


def cmd_tenant_usage(args) -> int:
    from seia.tenancy import TenantAdmin

    rows = TenantAdmin(get_settings()).usage(args.tenant)
    if args.json:
        _print(rows)
        return 0
    if not rows:
        print("no models")
        return 0
    from seia_client.cli import table

    keys = ("tenant", "model", "predictions", "ground_truths", "reference_rows", "bytes", "partitions")
    flat = [
        {"tenant": r["tenant"], "model": r["model"], **r["rows"], "bytes": r["bytes"], "partitions": r["partitions"]}
        for r in rows
    ]
    print(table(flat, list(zip(keys, USAGE_COLUMNS))))
    return 0


def cmd_tenant_move(args) -> int:
    from seia.tenancy import TenantAdmin
    from seia.tenancy_move import TenantMove

    mover = TenantMove(TenantAdmin(get_settings()))
    report = mover.abort(args.tenant) if args.abort else mover.move(args.tenant, args.to)
    _print(report.as_dict())
    return 0


def _server_row(load) -> dict:
    return {"server": load.name, "host": load.host, "port": load.port, "tenants": load.tenants}


def cmd_server_add(args) -> int:
    from seia.tenancy import TenantAdmin

    # The DSN (and its password) is neither printed nor logged: only the server's name, host and port.
    _print(_server_row(TenantAdmin(get_settings()).add_server(args.name, args.dsn)))
    return 0


def cmd_server_list(args) -> int:
    from seia.tenancy import TenantAdmin

    _print([_server_row(load) for load in TenantAdmin(get_settings()).server_loads()])
    return 0


def cmd_tenant_signing_secret(args) -> int:
    from seia.tenancy import TenantAdmin

    _print(TenantAdmin(get_settings()).rotate_signing_secret(args.tenant))
    print("Keep this secret: it is shown only now. Webhook deliveries are signed with it from now on.", file=sys.stderr)
    return 0


def cmd_tenant_notifications(args) -> int:
    from seia.errors import Detail, ValidationFailed
    from seia.tenancy import TenantAdmin

    channels = None
    if args.set is not None:
        try:
            channels = json.loads(args.set)
        except ValueError:
            raise ValidationFailed("--set must be JSON", [Detail(None, "notifications", "not JSON")]) from None
    current = TenantAdmin(get_settings()).notifications(args.tenant, channels, clear=args.clear)
    _print({"tenant": args.tenant, "notifications": current})
    return 0


def cmd_key_create(args) -> int:
    from seia import scopes
    from seia.tenancy import TenantAdmin

    # Both checked before anything is written; no default scope: a key does what its operator chose.
    held = scopes.parse(args.scope or [])
    expires_at = scopes.parse_expiry(args.expires) if args.expires else None
    key = TenantAdmin(get_settings()).create_key(args.tenant, held, expires_at)
    _print(
        {
            "tenant": args.tenant,
            "api_key": key,
            "scopes": held,
            "expires_at": expires_at.isoformat() if expires_at else None,
        }
    )
    print("Keep this key: it is shown only now.", file=sys.stderr)
    return 0


def cmd_key_list(args) -> int:
    from seia.tenancy import TenantAdmin

    rows = TenantAdmin(get_settings()).list_keys(args.tenant)
    _print(
        [
            {
                "prefix": r.prefix,
                "scopes": r.scopes,
                "created_at": r.created_at.isoformat(),
                "expires_at": r.expires_at.isoformat() if r.expires_at else None,
                "status": "revoked" if r.revoked_at else "expired" if r.expired else "active",
            }
            for r in rows
        ]
    )
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


def cmd_usage_plan_sync(args) -> int:
    import os

    import boto3

    from seia_admin.usage_plans import sync

    plan = args.usage_plan or os.environ.get("SEIA_USAGE_PLAN_ID")
    if not plan:
        print("error: give --usage-plan or SEIA_USAGE_PLAN_ID (the stack's UsagePlanId output)", file=sys.stderr)
        return 2
    report = sync(get_settings(), boto3.client("apigateway"), plan)
    _print({"added": report.added, "removed": report.removed, "unchanged": report.unchanged})
    return 0


def _one_line_errors(fn):
    """Seia's own errors as a message and the fields at fault (exit 2); anything else as one line (exit 1)."""

    @functools.wraps(fn)
    def wrapper(args) -> int:
        try:
            return fn(args)
        except SeiaError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            for d in exc.details:
                print(f"  {d.field}: {d.message}", file=sys.stderr)
            return 2
        except Exception as exc:  # noqa: BLE001 - psycopg connection errors and the like: one line, no DSN
            print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
            return 1

    return wrapper


def setup() -> None:
    """Before the parser is built: variables that ``make up`` wrote (AWS endpoint, bucket, API URL)."""
    from seia.config import load_local_env

    load_local_env()


def register(sub) -> None:
    """Add the operator's commands to ``seia``: tenant, server, key, drift run, migrate."""
    from seia_client.cli import group

    tenant = group(sub, "tenant", "create, list, delete tenants and their usage")
    p = tenant.add_parser("create", help="create a tenant, its database and role; prints its first API key")
    p.add_argument("name")
    p.add_argument("--server", help="the database server (default: the one with the fewest tenants)")
    p.set_defaults(func=_one_line_errors(cmd_tenant_create))
    tenant.add_parser("list", help="list tenants").set_defaults(func=_one_line_errors(cmd_tenant_list))
    p = tenant.add_parser(
        "delete", help="drop a tenant's database, role, keys and secrets (an audit line stays); needs --yes"
    )
    p.add_argument("tenant")
    p.add_argument("--yes", action="store_true", help="really delete: nothing of the tenant can be recovered")
    p.set_defaults(func=_one_line_errors(cmd_tenant_delete))
    p = tenant.add_parser("usage", help="rows, bytes on disk and partitions per model (one tenant or all)")
    p.add_argument("tenant", nargs="?")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_one_line_errors(cmd_tenant_usage))
    p = tenant.add_parser("signing-secret", help="create or rotate the tenant's webhook signing secret; shown once")
    p.add_argument("tenant")
    p.set_defaults(func=_one_line_errors(cmd_tenant_signing_secret))
    p = tenant.add_parser("notifications", help="show or set the default notification channels of a tenant's models")
    p.add_argument("tenant")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--set", metavar="JSON", help='e.g. \'[{"type": "slack", "url": "https://hooks.slack.com/..."}]\'')
    how.add_argument("--clear", action="store_true", help="remove the default")
    p.set_defaults(func=_one_line_errors(cmd_tenant_notifications))
    p = tenant.add_parser(
        "move", help="copy a tenant's database to another server (its writes pause meanwhile), then switch"
    )
    p.add_argument("tenant")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--to", help="the target server; run again to resume a move that stopped")
    how.add_argument("--resume", dest="to", action="store_const", const=None, help="finish an unfinished move")
    how.add_argument("--abort", action="store_true", help="undo an unfinished move (the tenant stays where it was)")
    p.set_defaults(func=_one_line_errors(cmd_tenant_move))

    server = group(sub, "server", "database servers tenants are placed on")
    p = server.add_parser("add", help="register a server by its admin role's DSN (the password goes to the secrets)")
    p.add_argument("name")
    p.add_argument("dsn", help="postgresql://admin:password@host:5432/postgres (SUPERUSER, or CREATEDB and CREATEROLE)")
    p.set_defaults(func=_one_line_errors(cmd_server_add))
    server.add_parser("list", help="servers with their load (number of tenants)").set_defaults(
        func=_one_line_errors(cmd_server_list)
    )

    key = group(sub, "key", "create, list and revoke API keys")
    p = key.add_parser("create", help="a new API key for a tenant, with what it may do and until when")
    p.add_argument("tenant")
    p.add_argument(
        "--scope",
        action="append",
        metavar="SCOPE",
        help="ingest (write predictions, ground truths, reference rows), read, admin (everything); "
        "required; repeat it or give a comma list",
    )
    p.add_argument("--expires", metavar="WHEN", help="90d, 12h or a date (2027-01-31, 00:00 UTC); default: never")
    p.set_defaults(func=_one_line_errors(cmd_key_create))
    p = key.add_parser("list", help="a tenant's keys: prefix, scopes, expiry, status (never the key)")
    p.add_argument("tenant")
    p.set_defaults(func=_one_line_errors(cmd_key_list))
    p = key.add_parser("revoke", help="revoke a key by its prefix (seia_xxxxxxxxxx)")
    p.add_argument("key_prefix")
    p.set_defaults(func=_one_line_errors(cmd_key_revoke))

    drift = group(sub, "drift", "drift results, and running the drift engine now")
    p = drift.add_parser("run", help="run every drift step for every model (or one tenant, one model) at once")
    p.add_argument("--tenant", help="only this tenant")
    p.add_argument("--model", help="only this model (needs --tenant)")
    p.set_defaults(func=_one_line_errors(cmd_drift_run))

    usage = group(sub, "usage-plan", "API Gateway's per-key throttling (AWS)")
    p = usage.add_parser("sync", help="one usage-plan key per working API key (run after key create/revoke)")
    p.add_argument("--usage-plan", help="usage plan id (default SEIA_USAGE_PLAN_ID)")
    p.set_defaults(func=_one_line_errors(cmd_usage_plan_sync))

    sub.add_parser("migrate", help="apply migrations to the admin and every tenant database").set_defaults(
        func=_one_line_errors(cmd_migrate)
    )


def main(argv=None) -> int:
    """``seia`` with the operator's commands, whether or not the entry point is registered."""
    from seia_client.cli import main as client_main

    return client_main(argv, plugins=[sys.modules[__name__]])


if __name__ == "__main__":
    sys.exit(main())
