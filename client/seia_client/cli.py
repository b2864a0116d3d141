"""The ``seia`` command: the commands that talk to the HTTP API with an API key (models, predictions,
drift, alerts) and ``seia upload``.

They print aligned tables for people and ``--json`` for scripts. Packages installed beside the client
add commands through the ``seia.cli`` entry point group: an object (a module) with ``register(sub)``
and optionally ``setup()``; the server's operator commands (``seia tenant``, ``seia drift run``) come so.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from pathlib import Path
from typing import Any

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
    from seia_client.client import Client

    if not args.api_key:
        raise _Usage("no API key: pass --api-key or set SEIA_API_KEY")
    return Client(args.url, args.api_key, timeout=args.timeout)


class _Usage(Exception):
    pass


def _one_line_errors(fn):
    """Turn API, connection and input errors into one line on stderr and exit status 2 (1 for I/O)."""

    @functools.wraps(fn)
    def wrapper(args) -> int:
        from seia_client.client import SeiaAPIError, SeiaConnectionError, SeiaForbiddenError

        try:
            return fn(args)
        except SeiaConnectionError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
        except SeiaAPIError as exc:
            if exc.route_missing:
                print(
                    f"error: this Seia server does not serve {exc.method} {exc.path} yet "
                    f"(HTTP {exc.status}); drift results and alerts need a newer deployment",
                    file=sys.stderr,
                )
                return 2
            print(f"error: {exc.message} (HTTP {exc.status} {exc.code})", file=sys.stderr)
            if isinstance(exc, SeiaForbiddenError):
                # The key is fine, only narrow: say so rather than list details, and where to see what it holds.
                print("  `seia whoami` shows this key's scopes; an operator makes wider keys", file=sys.stderr)
                return 2
            for d in exc.details[:20]:
                # Indexes count the rows of the whole file (from 0, header not counted), not of the batch.
                where = f"record {d.get('index')}: " if d.get("index") is not None else ""
                print(f"  {where}{d.get('field') or ''}: {d.get('message')}", file=sys.stderr)
            return 2
        except (_Usage, ValueError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return wrapper


# -- commands ------------------------------------------------------------------------------------
@_one_line_errors
def cmd_whoami(args) -> int:
    key = _client(args).key()
    row = {**key, "scopes": ", ".join(key["scopes"]), "expires_at": key.get("expires_at") or "never"}
    columns = [("tenant", "TENANT"), ("prefix", "KEY"), ("scopes", "SCOPES"), ("expires_at", "EXPIRES (UTC)")]
    _emit(args, key, [row], columns, "")
    return 0


SEGMENT_HELP = "one segment value, e.g. region:eu (region:other: the values not followed); see docs/segments.md"


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


def _feature_spec(text: str) -> dict:
    name, sep, kind = text.partition(":")
    if not sep or kind not in ("numeric", "categorical"):
        raise _Usage(f"--add-feature {text!r}: give NAME:numeric or NAME:categorical")
    return {"name": name, "type": kind}


def _setting(text: str, where: str = "--set") -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise _Usage(f'{where} {text!r}: give KEY=VALUE (VALUE as JSON: 200, "hour", null, {{...}})')
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value  # a bare word: a string setting (window=hour)


@_one_line_errors
def cmd_models_patch(args) -> int:
    added = [_feature_spec(f) for f in args.add_feature or []]
    settings = dict(_setting(s) for s in args.set or [])
    if not (added or args.remove_feature or args.add_label or args.add_segment or settings):
        raise _Usage("nothing to change: give --add-feature, --remove-feature, --add-label, --add-segment or --set")
    model = _client(args).patch_model(
        args.model,
        add_features=added,
        remove_features=args.remove_feature or [],
        add_labels=args.add_label or [],
        settings=settings or None,
        add_segments=args.add_segment or [],
    )
    rows = [
        {"name": f["name"], "type": f["type"], "added_at": f.get("added_at"), "removed_at": f.get("removed_at")}
        for f in model["features"]
    ]
    columns = [("name", "FEATURE"), ("type", "TYPE"), ("added_at", "ADDED (UTC)"), ("removed_at", "REMOVED (UTC)")]
    _emit(args, model, rows, columns, "no features")
    if model.get("segments") and not args.json:
        print(f"segment fields: {', '.join(model['segments'])}")
    return 0


def _settings_rows(reply: dict) -> list[dict]:
    own, force = reply.get("settings") or {}, reply.get("in_force") or {}
    return [
        {
            "key": key,
            "value": json.dumps(own[key]) if key in own else "-",
            "in_force": json.dumps(force.get(key)) + ("" if key in own else " (default)"),
        }
        for key in sorted(set(own) | set(force))
    ]


@_one_line_errors
def cmd_settings(args) -> int:
    """``seia settings show`` / ``seia settings set KEY=VALUE ...``: the tenant's defaults of model settings."""
    client = _client(args)
    if args.action == "set":
        changes = dict(_setting(s, "seia settings set") for s in args.assignments)
        reply = client.update_tenant_settings(**changes)
    else:
        reply = client.tenant_settings()
    columns = [("key", "SETTING"), ("value", "TENANT DEFAULT"), ("in_force", "IN FORCE (models without their own)")]
    _emit(args, reply, _settings_rows(reply), columns, "no settings")
    return 0


@_one_line_errors
def cmd_models_delete(args) -> int:
    if not args.yes:
        raise _Usage(
            f"deleting model {args.model!r} removes its rows, drift results and incidents for good; "
            "add --yes to go ahead"
        )
    done = _client(args).delete_model(args.model)
    _emit(args, done, [{"model": done.get("model", args.model)}], [("model", "DELETED")], "")
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
    from seia_client.client import drift_rows

    report = _client(args).drift_report(
        args.model, since=args.since, granularity=args.granularity, segment=args.segment
    )
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
def cmd_performance_show(args) -> int:
    """``seia performance show M``: realized and estimated performance per window, with the band."""
    report = _client(args).performance_report(
        args.model, since=args.since, granularity=args.granularity, segment=args.segment
    )
    metric = args.metric
    rows = []
    for w in report.get("windows") or []:
        est = ((w.get("estimated") or {}).get("metrics") or {}).get(metric) or {}
        band = (
            f"{est['lower']:.3f}–{est['upper']:.3f}"
            if est.get("lower") is not None and est.get("upper") is not None
            else None
        )
        realized = (w.get("metrics") or {}).get(metric)
        rows.append(
            {
                "window": (w.get("window_start") or "")[:16].replace("T", " "),
                "realized": None if realized is None else round(realized, 4),
                "estimated": None if est.get("value") is None else round(est["value"], 4),
                "band": band,
                "coverage": None if w.get("label_coverage") is None else f"{100 * w['label_coverage']:.0f}%",
                "predictions": w.get("predictions"),
            }
        )
    _emit(
        args,
        report,
        rows,
        [
            ("window", "WINDOW (UTC)"),
            ("realized", f"REALIZED {metric.upper()}"),
            ("estimated", "ESTIMATED"),
            ("band", "BAND (±3 SE)"),
            ("coverage", "LABELLED"),
            ("predictions", "PREDICTIONS"),
        ],
        f"no performance windows for {args.model} since {args.since}",
    )
    return 0


@_one_line_errors
def cmd_alerts(args) -> int:
    """``seia alerts M``: a model's incidents; ``seia alerts ack ID`` / ``seia alerts resolve ID``."""
    words = args.target
    if words[0] in ("ack", "resolve") and len(words) == 2:
        return _alert_action(args, words[0], words[1])
    if len(words) != 1:
        raise _Usage("usage: seia alerts MODEL [--status S] | seia alerts ack ID | seia alerts resolve ID")
    client = _client(args)
    model = words[0]
    alerts = client.alert_list(model, status=args.status, since=args.since, limit=args.limit, segment=args.segment)
    rows = [
        {
            **a,
            "windows": f"{(a.get('first_window_start') or '')[:10]} → {(a.get('last_window_end') or '')[:10]}",
        }
        for a in alerts
    ]
    _emit(
        args,
        alerts,
        rows,
        [
            ("id", "ID"),
            ("status", "STATUS"),
            ("severity", "SEVERITY"),
            ("kind", "KIND"),
            ("windows", "WINDOWS (UTC)"),
            ("windows_flagged", "FLAGGED"),
            ("summary", "SUMMARY"),
        ],
        f"no {args.status if args.status != 'all' else ''} alerts for {model}".replace("  ", " "),
    )
    return 0


def _alert_action(args, action: str, alert_id: str) -> int:
    """Acknowledge or resolve one incident; its model is --model, else the model that has it."""
    from seia_client.client import SeiaAPIError

    client = _client(args)
    models = [args.model] if args.model else [m["name"] for m in client.request("GET", "/v1/models")["models"]]
    for model in models:
        try:
            client.alert_get(model, alert_id)
        except SeiaAPIError as exc:
            if exc.status == 404:
                continue
            raise
        done = client.ack(model, alert_id, args.note) if action == "ack" else client.resolve(model, alert_id)
        if args.json:
            print(json.dumps(done, indent=2, default=str))
        else:
            print(f"alert {done['id']} of {model}: {done['status']} — {done['summary']}")
        return 0
    where = f"model {args.model!r}" if args.model else "any model of this tenant"
    raise _Usage(f"no alert {alert_id!r} in {where}")


def _when(value: str | None, default):
    """An option's time: ISO 8601 (naive is UTC), a date, or a duration before now (7d, 12h)."""
    from datetime import UTC, datetime

    from seia_client.client import parse_since

    if value is None:
        return default
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            return parse_since(value)
        except ValueError:
            raise _Usage(f"{value!r} is neither a time (2026-11-01, 2026-11-01T12:00Z) nor a duration (7d)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@_one_line_errors
def cmd_report(args) -> int:
    from datetime import UTC, datetime, timedelta

    from seia_client import report

    end = _when(args.to, datetime.now(UTC))
    start = _when(args.start, end - timedelta(days=7))
    if start >= end:
        raise _Usage(f"--from ({start.isoformat()}) must be before --to ({end.isoformat()})")
    data = report.collect(_client(args), args.model, start, end, args.granularity)
    text = json.dumps(data, indent=2, default=str) if args.json else report.render_html(data)
    if args.output == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return 0
    output = Path(args.output or f"{args.model}-report.{'json' if args.json else 'html'}")
    output.write_text(text, encoding="utf-8")
    s = data["summary"]
    print(
        f"wrote {output}: {s['drift_windows']} drift windows, {s['performance_windows']} performance windows, "
        f"{s['alerts']} alerts ({s['open_alerts']} open)",
        file=sys.stderr,
    )
    return 0


@_one_line_errors
def cmd_check(args) -> int:
    """0: nothing open in the span; 1: something is open (listed); 2: usage or connection errors."""
    from seia_client.client import parse_since

    try:
        parse_since(args.since)
    except ValueError as exc:
        raise _Usage(str(exc)) from None
    # The route's contract, not its rows' details: `status=open` lists what is open, of windows in the span.
    try:
        opened = _client(args).alert_list(args.model, status="open", since=args.since)
    except (KeyError, TypeError) as exc:
        # A gate must not read an answer it does not understand as "something is open" (exit 1).
        raise _Usage(f"unexpected answer from GET /v1/models/{args.model}/alerts (no {exc})") from None
    if args.json:
        print(json.dumps({"model": args.model, "since": args.since, "open": opened}, indent=2, default=str))
    elif opened:
        rows = [{**a, "opened": (a.get("opened_at") or "")[:16].replace("T", " ")} for a in opened]
        print(f"{len(opened)} open for {args.model} (windows since {args.since}):")
        print(
            table(
                rows,
                [
                    ("id", "ID"),
                    ("opened", "OPENED (UTC)"),
                    ("severity", "SEVERITY"),
                    ("kind", "KIND"),
                    ("summary", "SUMMARY"),
                ],
            )
        )
    else:
        print(f"ok: nothing open for {args.model} (windows since {args.since})")
    return 1 if opened else 0


def _q(segment: str) -> str:
    from seia_client.client import _quote

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
    text_columns.update({name: "string" for name in model.get("segments") or []})
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


def cmd_upload(args) -> int:
    from seia_client import upload
    from seia_client.keys import BadKey

    bucket = args.bucket or os.environ.get("SEIA_BUCKET")
    if not bucket:
        print("error: no bucket: set SEIA_BUCKET or pass --bucket", file=sys.stderr)
        return 2
    try:
        location = upload.target_key(args.file, args.tenant, args.model, args.kind, args.name)
    except BadKey as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    client = upload.s3_client()
    uploaded = upload.upload(client, args.file, bucket, location, progress=False if args.no_progress else None)
    _print_json(uploaded.as_dict())
    if args.wait is None:
        return 0
    result = upload.wait_for_result(client, uploaded, args.wait)
    if result is None:
        print(f"error: no result at s3://{bucket}/{uploaded.result_key} after {args.wait:g} s", file=sys.stderr)
        return 1
    _print_json(result)
    return 0 if result["status"] == "loaded" else 1


def _print_json(value) -> None:
    print(json.dumps(value, indent=2, default=str))


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


def group(sub, name: str, help_text: str):
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

    p = sub.add_parser("models", parents=[common], help="the tenant's models; models patch | delete (HTTP API)")
    p.set_defaults(func=cmd_models)
    models = p.add_subparsers(dest="action", required=False)
    p = models.add_parser(
        "patch", parents=[common], help="add or remove features, add labels, change settings (never rename/retype)"
    )
    p.add_argument("model")
    p.add_argument("--add-feature", action="append", metavar="NAME:TYPE", help="numeric or categorical; repeatable")
    p.add_argument("--remove-feature", action="append", metavar="NAME", help="its drift stops, its history stays")
    p.add_argument("--add-label", action="append", metavar="LABEL", help="multiclass models: a new class, appended")
    p.add_argument(
        "--add-segment",
        action="append",
        metavar="FIELD",
        help="a segment field (region, model_version...), appended; 3 at most; repeatable",
    )
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="a setting, VALUE as JSON (null: default)")
    p.set_defaults(func=cmd_models_patch)
    p = models.add_parser("delete", parents=[common], help="delete a model with its rows, results and incidents")
    p.add_argument("model")
    p.add_argument("--yes", action="store_true", help="really delete (nothing of the model can be recovered)")
    p.set_defaults(func=cmd_models_delete)
    settings = group(sub, "settings", "the tenant's defaults of model settings: retention_days, notifications")
    p = settings.add_parser("show", parents=[common], help="the tenant's defaults and what is in force (HTTP API)")
    p.set_defaults(func=cmd_settings)
    p = settings.add_parser(
        "set", parents=[common], help="set tenant-wide defaults: retention_days=30; a model's own setting wins"
    )
    p.add_argument("assignments", nargs="+", metavar="KEY=VALUE", help="VALUE as JSON (null: back to the default)")
    p.set_defaults(func=cmd_settings)
    sub.add_parser("whoami", parents=[common], help="this key's tenant, scopes and expiry (HTTP API)").set_defaults(
        func=cmd_whoami
    )

    predictions = group(sub, "predictions", "send predictions, ground truths or reference rows (HTTP API)")
    p = predictions.add_parser("send", parents=[common], help="send a CSV, JSONL or Parquet file in batches")
    p.add_argument("file")
    p.add_argument("--model", required=True)
    p.add_argument("--kind", choices=["predictions", "ground-truths", "reference"], default="predictions")
    p.add_argument("--replace", action="store_true", help="reference only: replace the old reference")
    p.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, help="rows read from the file at a time")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (there is none unless on a terminal)")
    p.set_defaults(func=cmd_predictions_send)

    drift = group(sub, "drift", "drift results")
    p = drift.add_parser("show", parents=[common], help="drift per window and column (HTTP API)")
    p.add_argument("model")
    p.add_argument("--since", default="7d", help="how far back: 30m, 12h, 7d, 2w (default %(default)s)")
    p.add_argument("--granularity", choices=["hour", "day", "range"], default="day")
    p.add_argument("--drift-only", action="store_true", help="only columns whose verdict is drift")
    p.add_argument("--segment", help=SEGMENT_HELP)
    p.set_defaults(func=cmd_drift_show)

    performance = group(sub, "performance", "realized and estimated performance")
    p = performance.add_parser(
        "show", parents=[common], help="realized and estimated performance per window, with the band (HTTP API)"
    )
    p.add_argument("model")
    p.add_argument("--since", default="7d", help="how far back: 30m, 12h, 7d, 2w (default %(default)s)")
    p.add_argument("--granularity", choices=["hour", "day", "range"], default="day")
    p.add_argument(
        "--metric",
        choices=["accuracy", "precision", "recall", "f1", "roc_auc"],
        default="accuracy",
        help="(default %(default)s)",
    )
    p.add_argument("--segment", help=SEGMENT_HELP)
    p.set_defaults(func=cmd_performance_show)

    p = sub.add_parser(
        "alerts",
        parents=[common],
        help="a model's incidents (seia alerts MODEL), or seia alerts ack ID / seia alerts resolve ID (HTTP API)",
    )
    p.add_argument("target", nargs="+", metavar="MODEL | ack ID | resolve ID")
    p.add_argument("--status", choices=["open", "acknowledged", "resolved", "all"], default="open")
    p.add_argument("--since", default=None, help="only incidents with windows since: 30m, 12h, 7d, 2w")
    p.add_argument("--model", default=None, help="ack/resolve: the incident's model (default: found by its id)")
    p.add_argument("--note", default=None, help="ack: a note kept with the acknowledgement")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--segment", help="only the incidents raised in this segment value, e.g. region:eu")
    p.set_defaults(func=cmd_alerts)

    p = sub.add_parser(
        "report",
        parents=[common],
        help="one HTML file (plots inline, opens offline) or --json: drift, performance, alerts",
    )
    p.add_argument("model")
    p.add_argument(
        "--from", dest="start", help="start: 2026-11-01, an ISO time, or 30d before now (default: --to - 7d)"
    )
    p.add_argument("--to", help="end: a date, an ISO time or a duration before now (default: now)")
    p.add_argument("--granularity", choices=["hour", "day"], help="default: hour up to 2 days, day beyond")
    p.add_argument("-o", "--output", help="the file to write (default MODEL-report.html or .json; - for stdout)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "check", parents=[common], help="a CI gate: exit 0 when nothing is open since --since, 1 when something is"
    )
    p.add_argument("model")
    p.add_argument("--since", default="1d", help="windows since: 30m, 12h, 1d, 2w (default %(default)s)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("upload", help="upload a file to s3://$SEIA_BUCKET/<tenant>/<model>/<kind>/<name>")
    p.add_argument("file")
    p.add_argument("--tenant", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--kind", required=True, choices=["predictions", "ground-truths", "reference"])
    p.add_argument("--name", help="object name (default: the file's name); may contain / for folders")
    p.add_argument("--bucket", help="default: SEIA_BUCKET")
    p.add_argument("--wait", type=float, metavar="SECONDS", help="wait for the result object and print it")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (there is none unless on a terminal)")
    p.set_defaults(func=cmd_upload)


def version_text() -> str:
    """The client's version, and the server package's when it is installed beside it."""
    from importlib.metadata import PackageNotFoundError, version

    from seia_client import __version__

    text = f"seia-client {__version__}"
    try:
        text += f", seia (server) {version('seia')}"
    except PackageNotFoundError:
        pass
    return text


def _plugins() -> list:
    from importlib.metadata import entry_points

    found = []
    for entry in entry_points(group="seia.cli"):
        try:
            found.append(entry.load())
        except ImportError as exc:  # a broken install must not take the client's own commands down
            print(f"warning: seia command plugin {entry.name!r} not loaded: {exc}", file=sys.stderr)
    return found


def build_parser(plugins=None) -> argparse.ArgumentParser:
    """``seia`` with the client's commands and those of every plugin (entry point group ``seia.cli``)."""
    plugins = list(plugins or [])
    for found in _plugins():
        if all(found is not p for p in plugins):
            plugins.append(found)
    for plugin in plugins:
        if hasattr(plugin, "setup"):
            plugin.setup()
    parser = argparse.ArgumentParser(prog="seia", description="Seia: ML model monitoring")
    parser.add_argument("--version", action="version", version=version_text())
    sub = parser.add_subparsers(dest="command", required=True)
    for plugin in plugins:
        plugin.register(sub)
    # Last, so that client commands join the `seia drift` / `seia predictions` groups plugins made.
    add_client_commands(sub)
    return parser


def main(argv=None, plugins=None) -> int:
    args = build_parser(plugins).parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
