"""``seia`` commands that talk to the HTTP API with an API key: models, predictions, drift, alerts.

They print aligned tables for people and ``--json`` for scripts. Registered by ``seia.cli``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"
CHUNK_ROWS = 10_000


# -- output ---------------------------------------------------------------------------------------
def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value) or "-"
    return str(value)


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """Rows as a text table with a header; numbers right-aligned. ``columns``: (key, heading)."""
    cells = [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    numeric = [
        all(
            isinstance(row.get(key), (int, float)) and not isinstance(row.get(key), bool)
            for row in rows
            if row.get(key) is not None
        )
        and any(row.get(key) is not None for row in rows)
        for key, _ in columns
    ]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, (_, h) in enumerate(columns)]

    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    out = [line([h for _, h in columns]), line(["-" * w for w in widths])]
    out += [line(c) for c in cells]
    return "\n".join(out)


def _emit(args, value, rows: list[dict], columns, empty: str) -> None:
    if args.json:
        print(json.dumps(value, indent=2, default=str))
    elif rows:
        print(table(rows, columns))
    else:
        print(empty)


# -- the client and its errors ---------------------------------------------------------------------
def _client(args):
    from seia.client import Client

    if not args.api_key:
        raise _Usage("no API key: pass --api-key or set SEIA_API_KEY")
    return Client(args.url, args.api_key, timeout=args.timeout)


class _Usage(Exception):
    pass


def _one_line_errors(fn):
    """Turn API, connection and input errors into one line on stderr and exit status 2 (1 for I/O)."""

    @functools.wraps(fn)
    def wrapper(args) -> int:
        from seia.client import SeiaAPIError, SeiaConnectionError

        try:
            return fn(args)
        except SeiaConnectionError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        except SeiaAPIError as exc:
            if exc.route_missing:
                print(
                    f"error: this Seia server does not serve {exc.method} {exc.path} yet "
                    f"(HTTP {exc.status}); drift results and alerts need a newer deployment",
                    file=sys.stderr,
                )
                return 2
            print(f"error: {exc.message} (HTTP {exc.status} {exc.code})", file=sys.stderr)
            for d in exc.details[:20]:
                where = f"record {d.get('index')}: " if d.get("index") is not None else ""
                print(f"  {where}{d.get('field') or ''}: {d.get('message')}", file=sys.stderr)
            return 2
        except (_Usage, ValueError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return wrapper


# -- commands ------------------------------------------------------------------------------------
@_one_line_errors
def cmd_models(args) -> int:
    models = _client(args).models()
    rows = [
        {
            "name": m["name"],
            "task": m["task"],
            "features": len(m["features"]),
            "labels": m.get("labels"),
            "created_at": (m.get("created_at") or "")[:19],
        }
        for m in models
    ]
    _emit(
        args,
        models,
        rows,
        [
            ("name", "MODEL"),
            ("task", "TASK"),
            ("features", "FEATURES"),
            ("labels", "LABELS"),
            ("created_at", "CREATED (UTC)"),
        ],
        "no models yet",
    )
    return 0


@_one_line_errors
def cmd_predictions_send(args) -> int:
    client = _client(args)
    definition = client.model(args.model)
    frames, total = read_frames(Path(args.file), definition, args.chunk_rows)
    progress = False if args.no_progress else None
    kind = args.kind
    if kind == "predictions":
        totals = client.log_predictions(frames, args.model, progress=progress, total=total)
    elif kind == "ground-truths":
        totals = client.log_ground_truths(frames, args.model, progress=progress, total=total)
    else:
        totals = client.log_reference(frames, args.model, replace=args.replace, progress=progress, total=total)
    if args.json:
        print(json.dumps(totals))
    else:
        extra = {k: v for k, v in totals.items() if k not in ("accepted", "batches")}
        rest = ", ".join(f"{k.replace('_', ' ')} {_cell(v)}" for k, v in extra.items())
        print(f"{kind} for {args.model}: accepted {_cell(totals['accepted'])}, {rest} ({totals['batches']} requests)")
    return 0


@_one_line_errors
def cmd_drift_show(args) -> int:
    from seia.client import drift_rows

    report = _client(args).drift_report(args.model, since=args.since, granularity=args.granularity)
    rows = drift_rows(report)
    if args.drift_only:
        rows = [r for r in rows if r.get("verdict") == "drift"]
    for r in rows:
        r["window"] = (r.get("window_start") or "")[:16].replace("T", " ")
    _emit(
        args,
        report,
        rows,
        [
            ("window", "WINDOW (UTC)"),
            ("kind", "KIND"),
            ("name", "COLUMN"),
            ("verdict", "VERDICT"),
            ("severity", "SEVERITY"),
            ("driver", "DRIVER"),
            ("effect_ratio", "EFFECT/THRESHOLD"),
            ("rows", "ROWS"),
        ],
        f"no drift results for {args.model} since {args.since}",
    )
    return 0


@_one_line_errors
def cmd_alerts(args) -> int:
    client = _client(args)
    alerts = client.alert_list(args.model, status=args.status, since=args.since, limit=args.limit)
    rows = [{**a, "opened": (a.get("opened_at") or "")[:16].replace("T", " ")} for a in alerts]
    _emit(
        args,
        alerts,
        rows,
        [
            ("id", "ID"),
            ("opened", "OPENED (UTC)"),
            ("severity", "SEVERITY"),
            ("kind", "KIND"),
            ("status", "STATUS"),
            ("summary", "SUMMARY"),
        ],
        f"no {args.status if args.status != 'all' else ''} alerts for {args.model}".replace("  ", " "),
    )
    return 0


def _q(segment: str) -> str:
    from seia.client import _quote

    return _quote(segment)


# -- files --------------------------------------------------------------------------------------
def read_frames(path: Path, model: dict, chunk_rows: int = CHUNK_ROWS):
    """(iterator of DataFrames, row count or an estimate) of a CSV, JSONL or Parquet file."""
    import pandas as pd

    if not path.is_file():
        raise _Usage(f"no such file: {path}")
    suffixes = [s.lower() for s in path.suffixes]
    # Categorical values and ids stay text ("007" is not 7).
    text_columns = {"prediction_id": "string"}
    text_columns.update({f["name"]: "string" for f in model["features"] if f["type"] == "categorical"})
    if model.get("labels") is not None:
        text_columns.update({"prediction": "string", "label": "string"})
    if ".parquet" in suffixes or ".pq" in suffixes:
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        frames = (batch.to_pandas() for batch in parquet.iter_batches(batch_size=chunk_rows))
        return frames, parquet.metadata.num_rows
    if ".jsonl" in suffixes or ".ndjson" in suffixes:
        reader = pd.read_json(path, lines=True, chunksize=chunk_rows, dtype=text_columns)
        return iter(reader), _count_lines(path)
    if ".csv" in suffixes or suffixes[-1:] == [".gz"]:
        header = pd.read_csv(path, nrows=0).columns
        dtype = {k: v for k, v in text_columns.items() if k in header}
        reader = pd.read_csv(path, chunksize=chunk_rows, dtype=dtype, keep_default_na=True)
        lines = _count_lines(path)  # None for a .gz: its row count is not known up front
        return iter(reader), None if lines is None else max(0, lines - 1)
    raise _Usage(f"{path.name}: expected a .csv, .jsonl or .parquet file")


def _count_lines(path: Path) -> int | None:
    if path.suffix.lower() == ".gz":
        return None
    count, last = 0, b"\n"
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


# -- wiring --------------------------------------------------------------------------------------
def _connection_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        default=os.environ.get("SEIA_URL") or DEFAULT_URL,
        help="the API's base URL (env SEIA_URL; default %(default)s)",
    )
    common.add_argument("--api-key", default=os.environ.get("SEIA_API_KEY"), help="API key (env SEIA_API_KEY)")
    common.add_argument("--timeout", type=float, default=30, help="seconds per request")
    common.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")
    return common


def _group(sub, name: str, help_text: str):
    """The sub-commands of ``seia <name>``, sharing the group with commands other modules add."""
    parser = sub.choices.get(name)
    if parser is None:
        return sub.add_parser(name, help=help_text).add_subparsers(dest="action", required=True)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError(f"seia {name} already exists without sub-commands")


def add_client_commands(sub) -> None:
    """Register ``models``, ``predictions send``, ``drift show`` and ``alerts``."""
    common = _connection_options()

    sub.add_parser("models", parents=[common], help="the tenant's models (HTTP API)").set_defaults(func=cmd_models)

    predictions = _group(sub, "predictions", "send predictions, ground truths or reference rows (HTTP API)")
    p = predictions.add_parser("send", parents=[common], help="send a CSV, JSONL or Parquet file in batches")
    p.add_argument("file")
    p.add_argument("--model", required=True)
    p.add_argument("--kind", choices=["predictions", "ground-truths", "reference"], default="predictions")
    p.add_argument("--replace", action="store_true", help="reference only: replace the old reference")
    p.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, help="rows read from the file at a time")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_predictions_send)

    drift = _group(sub, "drift", "drift results")
    p = drift.add_parser("show", parents=[common], help="drift per window and column (HTTP API)")
    p.add_argument("model")
    p.add_argument("--since", default="7d", help="how far back: 30m, 12h, 7d, 2w (default %(default)s)")
    p.add_argument("--granularity", choices=["hour", "day", "range"], default="day")
    p.add_argument("--drift-only", action="store_true", help="only columns whose verdict is drift")
    p.set_defaults(func=cmd_drift_show)

    p = sub.add_parser("alerts", parents=[common], help="a model's alerts (HTTP API)")
    p.add_argument("model")
    p.add_argument("--status", choices=["open", "acknowledged", "all"], default="open")
    p.add_argument("--since", default=None, help="only alerts of windows since: 30m, 12h, 7d, 2w")
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(func=cmd_alerts)
