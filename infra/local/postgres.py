"""Find a PostgreSQL server to use, or start a private one, and print its superuser DSN.

Order: ``DATABASE_URL`` when set; else the server on 127.0.0.1:5432 (trust auth, user postgres);
else a private cluster under ``.local/pg`` started from the system's PostgreSQL binaries
(``initdb -A trust``, ``pg_ctl`` listening on 127.0.0.1 only, run as a non-root OS user).
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / ".local"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PRIVATE_PORT = int(os.environ.get("SEIA_PG_PORT", "54329"))
INSTALL_HINT = (
    "No PostgreSQL server could be reached or started.\n"
    "  Debian/Ubuntu: sudo apt-get install postgresql   (or: postgresql-15)\n"
    "  macOS:         brew install postgresql@15\n"
    "or point DATABASE_URL at a server where you are superuser, e.g.\n"
    "  export DATABASE_URL=postgresql://postgres:secret@db.example:5432/postgres"
)


def reachable(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _bindir() -> Path | None:
    for tool in ("pg_ctl", "initdb"):
        found = shutil.which(tool)
        if found and shutil.which("initdb"):
            return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    return Path(candidates[-1]) if candidates else None


def _run_as(user: str | None, argv: list[str]) -> None:
    if user is None:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    else:
        subprocess.run(["runuser", "-u", user, "--", *argv], check=True, stdout=subprocess.DEVNULL)


def _os_user() -> str | None:
    """PostgreSQL refuses to run as root: use the ``postgres`` account (or create ``seia-pg``)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "seia-pg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "seia-pg"], check=True)
    return "seia-pg"


def private_dsn(port: int = PRIVATE_PORT) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def start_private_cluster(base: Path = LOCAL, port: int = PRIVATE_PORT) -> str:
    """Start (initialising on first use) the cluster under ``base/pg``; return its superuser DSN."""
    bindir = _bindir()
    if bindir is None:
        raise SystemExit(INSTALL_HINT)
    data = base / "pg" / "data"
    sockets = base / "pg" / "run"
    log = base / "log" / "postgres.log"
    user = _os_user()
    for folder in (data.parent, sockets, log.parent):
        folder.mkdir(parents=True, exist_ok=True)
    if user:
        shutil.chown(data.parent, user)
        shutil.chown(sockets, user)
        log.touch()
        shutil.chown(log, user)
    if not (data / "PG_VERSION").exists():
        _run_as(user, [str(bindir / "initdb"), "-A", "trust", "-U", "postgres", "-D", str(data)])
    dsn = private_dsn(port)
    if not reachable(dsn):
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets}"
        _run_as(user, [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"])
    if not reachable(dsn):
        raise SystemExit(f"the private cluster did not start; see {log}\n\n{INSTALL_HINT}")
    return dsn


def stop_private_cluster(base: Path = LOCAL) -> None:
    bindir = _bindir()
    data = base / "pg" / "data"
    if bindir and (data / "postmaster.pid").exists():
        _run_as(_os_user(), [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])


def resolve() -> str:
    explicit = os.environ.get("DATABASE_URL")
    if explicit:
        if not reachable(explicit):
            raise SystemExit(f"DATABASE_URL is set but the server does not answer.\n\n{INSTALL_HINT}")
        return explicit
    if reachable(DEFAULT_DSN):
        return DEFAULT_DSN
    return start_private_cluster()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="also store the DSN in .local/database_url")
    args = parser.parse_args(argv)
    dsn = resolve()
    if args.write:
        LOCAL.mkdir(exist_ok=True)
        (LOCAL / "database_url").write_text(dsn + "\n")
    print(dsn)


if __name__ == "__main__":
    main()
