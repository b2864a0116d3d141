"""Moving a tenant's database to another server: dump and restore under a write pause, then switch.

Why dump and restore (``pg_dump -Fc | pg_restore --single-transaction``) and not logical replication:
replication keeps the pause to a second whatever the size, but it needs ``wal_level=logical`` on the source
(a restart of the server, a parameter group and a reboot on RDS), a replication slot that holds WAL for as
long as a move is stuck (a forgotten move fills the disk), and it copies neither sequences nor DDL. Dump and
restore needs nothing from the servers but the admin role, leaves nothing behind when it stops, and copies
the database whole; its price is a pause of the tenant's writes for the whole copy (``make bench
BENCH_ARGS="--only move"`` measures it). Reads go on from the source during the pause.

The steps, each recorded in the tenant's admin row before it starts (``tenants.move_state``), so that a
move stopped anywhere is finished by running ``seia tenant move`` again, or undone with ``--abort``:

``copying``   the target server gets the tenant's role (same password, from the credential store) and an
              empty database, marked as this move's target. The source takes reads and writes.
``cutover``   the source database is made read-only (``default_transaction_read_only``) and the tenant's
              sessions on it are ended; its writes answer 503 with Retry-After (``seia.db``). The source is
              dumped into the target, and every table's row count is compared.
``switched``  the admin row points at the target, with a higher epoch: functions close the pools of the old
              place (``Databases.tenant``). The old database and role are then dropped.

Stopped in ``copying`` the tenant works as before; stopped in ``cutover`` it stays readable and its writes
wait (503) until the move is run again or aborted; stopped in ``switched`` it works on the target.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from seia.db import Tenant
from seia.errors import Conflict, Detail, SeiaError, ValidationFailed
from seia.repositories.admin import MoveState, Server, ServerRepository, TenantRepository
from seia.tenancy import TenantAdmin, _hide_catalogs

log = logging.getLogger(__name__)

_MOVE_LOCK = 0x5E1B
# The pause announced to clients (Retry-After): a floor, plus the database's size at a pessimistic copy rate.
PAUSE_FLOOR_SECONDS = 2.0
COPY_BYTES_PER_SECOND = 20e6


class MoveFailed(SeiaError):
    status = 500
    code = "move_failed"


@dataclass
class MoveReport:
    tenant: str
    from_server: str
    to_server: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds_total: float = 0.0
    seconds_paused: float = 0.0
    resumed_from: str | None = None
    aborted: bool = False

    def as_dict(self) -> dict:
        return {
            "tenant": self.tenant,
            "from": self.from_server,
            "to": self.to_server,
            "aborted": self.aborted,
            "resumed_from": self.resumed_from,
            "rows": sum(self.rows.values()),
            "tables": self.rows,
            "seconds_total": round(self.seconds_total, 3),
            "seconds_writes_paused": round(self.seconds_paused, 3),
        }


def pg_bindir() -> Path:
    """Where pg_dump and pg_restore are: SEIA_PG_BINDIR, the PATH, or the newest /usr/lib/postgresql/*/bin."""
    explicit = os.environ.get("SEIA_PG_BINDIR")
    if explicit:
        return Path(explicit)
    found = shutil.which("pg_restore")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not candidates:
        raise MoveFailed("pg_dump and pg_restore were not found; install the PostgreSQL client or set SEIA_PG_BINDIR")
    return Path(candidates[-1])


class TenantMove:
    """``seia tenant move``. ``checkpoint(step)`` is called as each step begins (tests stop a move there)."""

    def __init__(self, admin: TenantAdmin, checkpoint: Callable[[str], None] | None = None):
        self.admin = admin
        self.checkpoint = checkpoint or (lambda step: None)

    # -- entry points ---------------------------------------------------------------------
    def move(self, tenant_name: str, to: str | None) -> MoveReport:
        """Move (or finish moving) ``tenant_name`` to the server named ``to``."""
        started = time.monotonic()
        tenant = self.admin.get_tenant(tenant_name)
        with self._locked(tenant) as admin_conn:
            state = TenantRepository(admin_conn).move_state(tenant)
            servers = ServerRepository(admin_conn)
            if state.state is None:
                if to is None:
                    raise ValidationFailed("where to?", [Detail(None, "--to", "name the target server")])
                target = self.admin.server_named(to)
                if target.id == state.server_id:
                    raise Conflict(f"tenant {tenant_name!r} is already on server {to!r}")
                if not target.is_default and not target.admin_user:
                    raise Conflict(f"server {to!r} has no admin role yet: `seia server add {to} DSN`")
                TenantRepository(admin_conn).begin_move(tenant.id, target.id)
                state = TenantRepository(admin_conn).move_state(tenant)
                resumed = None
            else:
                assert state.move_to is not None and state.move_from is not None  # CHECK tenants_move_complete
                target = servers.by_id(state.move_to)
                if to is not None and to != target.name:
                    raise Conflict(
                        f"tenant {tenant_name!r} has an unfinished move to {target.name!r}: "
                        f"run `seia tenant move {tenant_name} --to {target.name}` or `--abort` first"
                    )
                resumed = state.state
            assert state.move_from is not None
            source = servers.by_id(state.move_from)
            report = MoveReport(tenant_name, source.name, target.name, resumed_from=resumed)
            self._run(admin_conn, state, source, target, report)
        report.seconds_total = time.monotonic() - started
        log.info(
            "moved tenant %s from %s to %s: %d rows, %.1f s, writes paused %.1f s",
            tenant_name, source.name, target.name, sum(report.rows.values()), report.seconds_total,
            report.seconds_paused,
        )  # fmt: skip
        return report

    def abort(self, tenant_name: str) -> MoveReport:
        """Undo an unfinished move: the tenant stays on (or goes back to taking writes on) its source.

        A move already switched cannot be undone (the target has taken writes since): it is finished instead.
        """
        started = time.monotonic()
        tenant = self.admin.get_tenant(tenant_name)
        with self._locked(tenant) as admin_conn:
            state = TenantRepository(admin_conn).move_state(tenant)
            if state.state is None:
                raise Conflict(f"tenant {tenant_name!r} is not being moved")
            assert state.move_to is not None and state.move_from is not None
            servers = ServerRepository(admin_conn)
            source, target = servers.by_id(state.move_from), servers.by_id(state.move_to)
            report = MoveReport(tenant_name, source.name, target.name, resumed_from=state.state)
            if state.state == "switched":
                self._drop_old(admin_conn, tenant, source)
            else:
                self._unfence(source, tenant)
                self._drop_target(target, tenant)
                TenantRepository(admin_conn).end_move(tenant.id)
                report.aborted = True
        report.seconds_total = time.monotonic() - started
        return report

    # -- the steps ------------------------------------------------------------------------
    def _run(self, admin_conn, state: MoveState, source: Server, target: Server, report: MoveReport) -> None:
        tenant = state.tenant
        tenants = TenantRepository(admin_conn)
        if state.state == "copying":
            self.checkpoint("copying")
            self._prepare_target(source, target, tenant)
            size = self._size(source, tenant)
            tenants.pause(tenant.id, PAUSE_FLOOR_SECONDS + size / COPY_BYTES_PER_SECOND)
            state = tenants.move_state(tenant)
        if state.state == "cutover":
            paused = time.monotonic()
            self.checkpoint("cutover")
            self._fence(source, tenant)
            self._prepare_target(source, target, tenant)  # a resumed cutover starts from an empty target
            self._copy(source, target, tenant)
            self.checkpoint("verify")
            report.rows = self._verify(source, target, tenant)
            self._hide(target, tenant)
            if not tenants.switch(tenant.id):
                raise MoveFailed(f"the admin row of {tenant.name!r} changed during its move")
            report.seconds_paused = time.monotonic() - paused
            state = tenants.move_state(tenant)
        if state.state == "switched":
            self.checkpoint("switched")
            self._drop_old(admin_conn, tenant, source)
            if not report.rows:
                report.rows = self._counts(target, tenant)

    def _prepare_target(self, source: Server, target: Server, tenant: Tenant) -> None:
        """The tenant's role (same password) and an empty database, marked as this move's, on the target."""
        marker = _marker(tenant, source)
        with self.admin._server(target) as conn:
            existing = _comment(conn, tenant.db_name)
            if existing is not None and existing != marker:
                raise Conflict(
                    f"server {target.name!r} already has a database named {tenant.db_name!r} that this move did "
                    "not create; is it the same server under another name?"
                )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(tenant.db_name)))
            self.admin._ensure_role(conn, tenant.role_name)
            self.admin._ensure_database(conn, tenant.db_name, owner=tenant.role_name)
            conn.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(tenant.db_name), sql.Literal(marker))
            )
            self.admin._fence(conn, [tenant.role_name], [tenant.db_name])

    def _size(self, server: Server, tenant: Tenant) -> int:
        with self.admin._server(server) as conn:
            row = conn.execute("SELECT pg_database_size(%s)", (tenant.db_name,)).fetchone()
        return int(row[0]) if row else 0

    def _fence(self, source: Server, tenant: Tenant) -> None:
        """The source becomes read-only for the tenant: new sessions by default, old ones are ended."""
        ident = sql.Identifier(tenant.db_name)
        with self.admin._server(source) as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(ident))
            fenced = conn.execute("SELECT clock_timestamp()").fetchone()
            deadline = time.monotonic() + 30
            while True:
                # Only sessions older than the fence: newer ones are read-only already, and ending them would
                # only make the functions' pools back off before reconnecting.
                left = conn.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = %s AND usename = %s AND backend_start < %s",
                    (tenant.db_name, tenant.role_name, fenced[0] if fenced else None),
                ).fetchone()
                if not left or left[0] == 0:
                    return
                if time.monotonic() > deadline:
                    raise MoveFailed(f"sessions of {tenant.role_name!r} did not end; run the move again")
                time.sleep(0.05)

    def _unfence(self, source: Server, tenant: Tenant) -> None:
        with self.admin._server(source) as conn:
            if _comment(conn, tenant.db_name) is not None:
                conn.execute(
                    sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only").format(
                        sql.Identifier(tenant.db_name)
                    )
                )

    def _copy(self, source: Server, target: Server, tenant: Tenant) -> None:
        """pg_dump of the source piped into pg_restore on the target, in one transaction. Passwords go through
        each tool's environment (PGPASSWORD), never its arguments, which other users of the machine can see."""
        bindir = pg_bindir()
        # -Z0: the stream crosses a pipe and a network, not a disk; compressing costs more CPU than it saves.
        dump = subprocess.Popen(
            [str(bindir / "pg_dump"), "-Fc", "-Z0"],
            env=_tool_env(self.admin.server_params(source, tenant.db_name)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        restore = subprocess.run(
            [str(bindir / "pg_restore"), "--single-transaction", "--exit-on-error", "-d", tenant.db_name],
            env=_tool_env(self.admin.server_params(target, tenant.db_name)),
            stdin=dump.stdout,
            capture_output=True,
            text=True,
        )
        assert dump.stdout is not None and dump.stderr is not None  # both piped above
        dump.stdout.close()
        dump_errors = dump.stderr.read().decode(errors="replace")
        if dump.wait() != 0 or restore.returncode != 0:
            lines = (dump_errors + restore.stderr).strip().splitlines()
            raise MoveFailed(
                f"copying {tenant.db_name!r} failed; the tenant stays on its source, writes paused until the move "
                "is run again or aborted",
                [Detail(None, "pg_dump/pg_restore", line[:300]) for line in lines[:5]],
            )

    def _counts(self, server: Server, tenant: Tenant) -> dict[str, int]:
        with self.admin._server(server, tenant.db_name) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables"
                    " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
                )
            ]
            counts = {}
            for table in tables:
                row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.SQL(table))).fetchone()
                counts[table] = int(row[0]) if row else 0
            return counts

    def _verify(self, source: Server, target: Server, tenant: Tenant) -> dict[str, int]:
        """Every table's row count on the target equals the (read-only) source's, or the move stops here."""
        before, after = self._counts(source, tenant), self._counts(target, tenant)
        if before != after:
            differ = sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))
            raise MoveFailed(
                f"the copy of {tenant.db_name!r} differs from its source; nothing was switched",
                [Detail(None, t, f"source {before.get(t)} rows, target {after.get(t)}") for t in differ[:10]],
            )
        return after

    def _hide(self, target: Server, tenant: Tenant) -> None:
        with self.admin._server(target, tenant.db_name) as conn:
            _hide_catalogs(conn)

    def _drop_old(self, admin_conn, tenant: Tenant, source: Server) -> None:
        with self.admin._server(source) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(tenant.db_name)))
            _drop_role(conn, tenant.role_name)
        TenantRepository(admin_conn).end_move(tenant.id)

    def _drop_target(self, target: Server, tenant: Tenant) -> None:
        """The target's copy and role, if this move made them (the database carries its marker)."""
        with self.admin._server(target) as conn:
            comment = _comment(conn, tenant.db_name)
            if comment is not None and not comment.startswith(_marker_prefix(tenant)):
                log.warning("%s on %s was not made by this move: left alone", tenant.db_name, target.name)
                return
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(tenant.db_name)))
            _drop_role(conn, tenant.role_name)

    def _locked(self, tenant: Tenant):
        return _MoveLock(self.admin, tenant)


class _MoveLock:
    """One move of a tenant at a time: a session advisory lock on the admin database, for the whole move."""

    def __init__(self, admin: TenantAdmin, tenant: Tenant):
        self.admin, self.tenant = admin, tenant
        self.conn: psycopg.Connection | None = None

    def __enter__(self) -> psycopg.Connection:
        self.conn = self.admin.admin_connection()
        row = self.conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (_MOVE_LOCK, self.tenant.id)).fetchone()
        if not row or not row[0]:
            self.conn.close()
            raise Conflict(f"tenant {self.tenant.name!r} is being moved by another `seia tenant move`")
        return self.conn

    def __exit__(self, *exc) -> None:
        assert self.conn is not None
        self.conn.close()  # ends the session, and the lock with it


def _marker_prefix(tenant: Tenant) -> str:
    return f"seia: move target of tenant {tenant.name}"


def _marker(tenant: Tenant, source: Server) -> str:
    return f"{_marker_prefix(tenant)} from server {source.name}, epoch {tenant.epoch}"


def _comment(conn: psycopg.Connection, db_name: str) -> str | None:
    """The database's comment ('' when it has none), or None when there is no such database."""
    row = conn.execute(
        "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = %s", (db_name,)
    ).fetchone()
    return None if row is None else row[0]


def _drop_role(conn: psycopg.Connection, role: str) -> None:
    try:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    except psycopg.errors.DependentObjectsStillExist:
        # The role still owns something there (the same server registered under two names): it stays.
        log.warning("role %s kept: it still owns objects on that server", role)


def _tool_env(params: dict) -> dict[str, str]:
    names = {
        "host": "PGHOST",
        "port": "PGPORT",
        "user": "PGUSER",
        "password": "PGPASSWORD",
        "dbname": "PGDATABASE",
        "sslmode": "PGSSLMODE",
        "connect_timeout": "PGCONNECT_TIMEOUT",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({names[k]: str(v) for k, v in params.items() if k in names and v not in (None, "")})
    return env
