"""The Python client of Seia's HTTP API.

>>> from seia_client import Client                                    # doctest: +SKIP
>>> seia = Client("http://127.0.0.1:8000", api_key)            # doctest: +SKIP
>>> seia = Client()                        # SEIA_URL and SEIA_API_KEY  # doctest: +SKIP
>>> seia.log_predictions(df, "churn")                          # doctest: +SKIP
{'accepted': 50000, 'duplicates': 0, 'batches': 5}

Only the standard library and urllib3 are imported here: pandas is imported inside the methods that
take or return a DataFrame, so the client costs nothing to import where there is no pandas.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.retry import Retry

from seia_client import __version__

MAX_RECORDS = 10_000
# The API's limit is 6 MiB per request; stay well under it (JSON grows when re-encoded by proxies).
MAX_BATCH_BYTES = 5_000_000
KINDS = ("predictions", "ground-truths", "reference")
SCORE_PREFIX = "score_"  # one column per class, as in files: score_<label>
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class SeiaAPIError(Exception):
    """The API refused a request: its HTTP status and the error body's code, message and details."""

    # Set only on a refused ingest batch (see ``_to_caller_rows``): the caller's first row in it, and the totals
    # of the batches stored before it.
    first_row: int
    sent: dict

    def __init__(
        self, status: int, code: str, message: str, details: list | None = None, method: str = "", path: str = ""
    ):
        self.status, self.code, self.message = status, code, message
        self.details = details or []
        self.method, self.path = method, path
        super().__init__(f"{status} {code}: {message}")

    @property
    def route_missing(self) -> bool:
        """True when the server has no such route (an older server, or a route not deployed yet)."""
        return (self.status == 404 and self.message.startswith("no route")) or (
            self.status == 403 and "Missing Authentication Token" in self.message
        )


class SeiaForbiddenError(SeiaAPIError):
    """403: the key is valid but its scopes do not allow this request; ``message`` says which scope it needs."""


class SeiaConnectionError(SeiaAPIError):
    """The server could not be reached: refused at once, or timed out or dropped after the retries."""

    def __init__(self, message: str, method: str = "", path: str = "", attempts: int = 1):
        super().__init__(0, "connection_failed", message, [], method, path)
        self.attempts = attempts


class _Retry(Retry):
    """urllib3's Retry, but a refused connection fails at once and waits go through ``sleep``.

    A refused connection (or an unknown host) means nothing listens there: retrying it only delays
    the message by seconds. Timeouts, dropped connections, 429 and 5xx are retried after an
    exponential backoff with full jitter; a ``Retry-After`` header is honoured up to ``backoff_max``.
    """

    def __init__(self, *args, sleep: Callable[[float], None] = time.sleep, tried: list | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._sleep_fn = sleep
        self.tried = tried if tried is not None else []  # shared along the chain: the attempts made

    def new(self, **kwargs):
        retry = super().new(**kwargs)
        retry._sleep_fn, retry.tried = self._sleep_fn, self.tried
        return retry

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        self.tried.append(error or (response.status if response is not None else None))
        if isinstance(error, NewConnectionError):  # refused, unreachable, unknown host (not a timeout)
            raise MaxRetryError(_pool, url, error) from error
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def get_backoff_time(self) -> float:
        # Full jitter from the first retry on (urllib3 retries the first at once, then adds jitter to a
        # fixed curve): clients that failed together, e.g. at a 503 of the database, spread out.
        failures = len(self.history)
        if failures == 0:
            return 0.0
        return random.uniform(0, min(self.backoff_max, self.backoff_factor * 2 ** (failures - 1)))

    def sleep(self, response=None) -> None:
        delay = self.get_backoff_time()
        if response is not None and self.respect_retry_after_header:
            after = self.get_retry_after(response)
            if after is not None:
                delay = max(delay, min(after, self.backoff_max))
        if delay > 0:
            self._sleep_fn(delay)


class _Progress:
    """A one-line progress bar on stderr; silent when stderr is not a terminal unless forced."""

    def __init__(self, label: str, total: int | None, enabled: bool | None, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled if enabled is not None else _isatty(self.stream)
        self.label, self.total, self.done = label, total, 0

    def advance(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        if self.total:
            width = 30
            filled = int(width * min(self.done, self.total) / self.total)
            bar = "#" * filled + "." * (width - filled)
            line = f"\r{self.label} [{bar}] {self.done:,}/{self.total:,} records"
        else:
            line = f"\r{self.label} {self.done:,} records"
        self.stream.write(line)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def parse_since(value: str | timedelta, now: datetime | None = None) -> datetime:
    """``"7d"``, ``"12h"``, ``"30m"`` or ``"2w"`` before now (UTC).

    >>> parse_since("2d", datetime(2026, 1, 3, tzinfo=UTC)).isoformat()
    '2026-01-01T00:00:00+00:00'
    """
    now = now or datetime.now(UTC)
    if isinstance(value, timedelta):
        return now - value
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", str(value))
    if not match:
        raise ValueError(f"since must look like 30m, 12h, 7d or 2w (got {value!r})")
    unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
    return now - timedelta(**{unit: int(match.group(1))})


def _time_param(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if hasattr(value, "isoformat"):  # pandas.Timestamp is a datetime; date-like objects too
        return value.isoformat()
    return str(value)


class Client:
    """Talks to one Seia API with one API key.

    Parameters
    ----------
    url : str, optional
        Base URL of the API, e.g. ``http://127.0.0.1:8000`` or the API Gateway stage URL;
        ``SEIA_URL`` when not given.
    api_key : str, optional
        ``seia_<prefix>_<secret>``, from ``seia tenant create``; ``SEIA_API_KEY`` when not given.
    timeout : float
        Seconds to connect, and seconds to wait for an answer, per HTTP request.
    max_attempts : int
        Tries per request on 429, 5xx, timeouts and dropped connections, with exponential backoff
        and jitter (urllib3's ``Retry``); a refused connection is not retried.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30,
        *,
        max_attempts: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        url = url or os.environ.get("SEIA_URL")
        api_key = api_key or os.environ.get("SEIA_API_KEY")
        if not url:
            raise ValueError("no API URL: pass url= or set SEIA_URL")
        if not api_key:
            raise ValueError("no API key: pass api_key= or set SEIA_API_KEY")
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._models: dict[str, dict] = {}
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=timeout, read=timeout), headers={"User-Agent": f"seia-client/{__version__}"}
        )

    def __repr__(self) -> str:  # never the key
        return f"Client({self.url!r})"

    # -- HTTP -----------------------------------------------------------------------------------
    def request(
        self, method: str, path: str, body: Any = None, params: dict | None = None, raw: bytes | None = None
    ) -> Any:
        """Send one request (retrying transient failures) and return the decoded JSON body."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        url = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = raw if raw is not None else (json.dumps(body, allow_nan=False).encode() if body is not None else None)
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        retry = self._retry()
        try:
            resp = self._http.request(method, url, body=data, headers=headers, retries=retry)
        except MaxRetryError as err:
            raise SeiaConnectionError(
                self._unreachable(method, self.url + path, err.reason, len(retry.tried)), method, path, len(retry.tried)
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as err:  # not retried: said the same way
            raise SeiaConnectionError(self._unreachable(method, self.url + path, err, 1), method, path) from None
        if resp.status >= 400:
            raise _api_error(resp.status, resp.data, method, path)
        return json.loads(resp.data) if resp.data else None

    def _retry(self) -> _Retry:
        return _Retry(
            total=self.max_attempts - 1,
            # Every method: writes are idempotent (a prediction_id is stored once), so a re-sent batch is safe.
            allowed_methods=None,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=self.backoff,
            backoff_max=self.max_backoff,
            raise_on_status=False,  # the last 5xx/429 answer is returned, and raised with its error body
            sleep=self._sleep,
        )

    def _unreachable(self, method: str, url: str, reason, attempts: int) -> str:
        """What was tried and what failed, in words (never the key: it travels in a header)."""
        if isinstance(reason, NameResolutionError):
            what = f"cannot resolve the host {urllib.parse.urlsplit(url).hostname!r}"
        elif isinstance(reason, NewConnectionError):
            cause = reason.__cause__
            if isinstance(cause, ConnectionRefusedError):
                what = "connection refused (is the server running, and is this its port?)"
            else:
                what = f"cannot connect ({cause or reason})"
        elif isinstance(reason, ConnectTimeoutError):
            what = f"no connection within {self.timeout:g} s"
        elif isinstance(reason, ReadTimeoutError):
            what = f"no answer within {self.timeout:g} s"
        elif isinstance(reason, SSLError):
            what = f"TLS failed ({reason})"
        elif isinstance(reason, ProtocolError):
            what = f"the connection was dropped ({reason.args[-1] if reason.args else reason})"
        else:
            what = str(reason)
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        return f"cannot reach the Seia API: {method} {url}: {what}{tries}"

    # -- models ---------------------------------------------------------------------------------
    def create_model(
        self,
        name: str,
        task: str,
        features,
        labels: list | None = None,
        settings: dict | None = None,
        segments: Iterable[str] | None = None,
    ) -> dict:
        """Register a model. ``features``: ``{"age": "numeric", ...}`` or ``[{"name", "type"}, ...]``;
        ``segments``: up to 3 segment fields (``["region", "model_version"]``, docs/segments.md)."""
        if isinstance(features, dict):
            features = [{"name": n, "type": t} for n, t in features.items()]
        body: dict = {"name": name, "task": task, "features": list(features)}
        if labels is not None:
            body["labels"] = list(labels)
        if segments:
            body["segments"] = list(segments)
        if settings is not None:
            body["settings"] = settings
        model = self.request("POST", "/v1/models", body)
        self._models[name] = model
        return model

    def key(self) -> dict:
        """The key in use: ``{"tenant", "prefix", "scopes", "expires_at"}`` (any key may ask)."""
        return self.request("GET", "/v1/key")

    def models(self) -> list[dict]:
        return self.request("GET", "/v1/models")["models"]

    def model(self, name: str) -> dict:
        model = self.request("GET", f"/v1/models/{_quote(name)}")
        self._models[name] = model
        return model

    def _definition(self, name: str) -> dict:
        return self._models.get(name) or self.model(name)

    # -- writes ---------------------------------------------------------------------------------
    def log_predictions(
        self,
        df,
        model: str,
        *,
        batch_size: int = MAX_RECORDS,
        progress: bool | None = None,
        total: int | None = None,
        segments: dict | None = None,
    ) -> dict:
        """Send predictions from a DataFrame (or an iterable of DataFrames, e.g. CSV chunks).

        Columns: ``prediction_id``, ``timestamp``, ``prediction``, optional ``score`` and one per
        feature of the model (other columns are ignored). Naive timestamps are taken as UTC.
        A column named as one of the model's segment fields gives its values (text; missing values
        are missing); ``segments={"model_version": "v3"}`` gives one value to every row instead.
        Returns ``{"accepted", "duplicates", "batches"}``; a prediction_id already stored (also one
        re-sent after a retried request) counts as a duplicate and is never stored twice.
        """
        return self._send(df, model, "predictions", batch_size, progress, total, segments=segments)

    def log_ground_truths(
        self, df, model: str, *, batch_size: int = MAX_RECORDS, progress: bool | None = None, total: int | None = None
    ) -> dict:
        """Send ground truths: columns ``prediction_id``, ``label`` and optional ``timestamp``.

        Returns ``{"accepted", "unmatched", "expired", "batches"}`` (``expired``: labels of predictions past the
        model's retention, stored nowhere).
        """
        return self._send(df, model, "ground-truths", batch_size, progress, total)

    def log_reference(
        self,
        df,
        model: str,
        replace: bool = False,
        *,
        batch_size: int = MAX_RECORDS,
        progress: bool | None = None,
        total: int | None = None,
        segments: dict | None = None,
    ) -> dict:
        """Send reference rows (prediction columns plus an optional ``label``; segment values as
        ``log_predictions`` takes them).

        ``replace=True`` removes the old reference with the first batch. Returns
        ``{"accepted", "duplicates", "reference_rows", "reference_version", "batches"}``.
        """
        return self._send(df, model, "reference", batch_size, progress, total, replace=replace, segments=segments)

    def _send(
        self,
        frames,
        model: str,
        kind: str,
        batch_size: int,
        progress: bool | None,
        total: int | None,
        replace: bool = False,
        segments: dict | None = None,
    ) -> dict:
        if not 1 <= batch_size <= MAX_RECORDS:
            raise ValueError(f"batch_size must be between 1 and {MAX_RECORDS}")
        import pandas as pd

        if isinstance(frames, pd.DataFrame):
            total = len(frames) if total is None else total
            frames = [frames]
        definition = self._definition(model)
        path = f"/v1/models/{_quote(model)}/{kind}"
        totals = {"accepted": 0, "duplicates": 0, "batches": 0}
        if kind == "ground-truths":
            totals = {"accepted": 0, "unmatched": 0, "expired": 0, "batches": 0}
        bar = _Progress(
            f"{kind} → {model}",
            total,
            progress if progress is not None else (None if (total or 0) > batch_size else False),
        )
        first = True
        offset = 0  # rows of the caller's frames before this one: error indexes count from the first row
        try:
            for frame in frames:
                for start in range(0, len(frame), batch_size):
                    records = frame_to_records(
                        frame.iloc[start : start + batch_size], definition, kind, segments=segments
                    )
                    for batch in _fit(records):
                        params = {"replace": "true"} if (kind == "reference" and replace and first) else None
                        try:
                            reply = self.request("POST", path, raw=batch.body, params=params)
                        except SeiaAPIError as exc:
                            _to_caller_rows(exc, offset + start + batch.start, totals)
                            raise
                        first = False
                        totals["batches"] += 1
                        for key, value in reply.items():
                            if key in ("accepted", "duplicates", "unmatched", "expired"):
                                totals[key] = totals.get(key, 0) + value
                            elif key in ("reference_rows", "reference_version"):
                                totals[key] = value
                        bar.advance(batch.count)
                offset += len(frame)
        finally:
            bar.close()
        return totals

    def upload_file(self, path: str, model: str, kind: str, *, tenant: str, bucket: str | None = None) -> str:
        """Drop a CSV/JSONL/Parquet file into the ingest bucket for the file ingest function.

        The object goes to ``s3://<bucket>/<tenant>/<model>/<kind>/<file name>``; the bucket is
        ``SEIA_BUCKET`` unless given, and ``AWS_ENDPOINT_URL`` (LocalStack) is honoured.
        Returns the ``s3://`` URI.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        bucket = bucket or os.environ.get("SEIA_BUCKET")
        if not bucket:
            raise ValueError("no bucket: set SEIA_BUCKET or pass bucket=")
        key = f"{tenant}/{model}/{kind}/{os.path.basename(path)}"
        # The file ingest function's own reading of keys: refuse here what it would refuse there.
        from seia_client.keys import BadKey, parse

        try:
            parse(key)
        except BadKey as exc:
            raise ValueError(f"{os.path.basename(path)}: {exc}") from None
        import boto3

        s3 = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
        s3.upload_file(str(path), bucket, key)
        return f"s3://{bucket}/{key}"

    # -- reads ----------------------------------------------------------------------------------
    def stats(self, model: str, *, start=None, end=None, since=None, granularity: str = "hour", segment=None):
        """Predictions and labelled predictions per UTC window, as a DataFrame; ``segment="region:eu"``: of that
        segment value's rows only."""
        params = _range(start, end, since, granularity) | _segment(segment)
        body = self.request("GET", f"/v1/models/{_quote(model)}/stats", params=params)
        return _frame(body["windows"], ["window_start", "predictions", "labelled"], times=["window_start"])

    def drift(self, model: str, *, start=None, end=None, since=None, granularity: str = "day", segment=None):
        """Drift results, one row per window and column (feature, prediction, score, label or multivariate);
        ``segment="region:eu"``: of that segment value's traffic (docs/segments.md)."""
        body = self.drift_report(model, start=start, end=end, since=since, granularity=granularity, segment=segment)
        return _frame(drift_rows(body), DRIFT_COLUMNS, times=["window_start", "window_end"])

    def drift_report(
        self, model: str, *, start=None, end=None, since=None, granularity: str = "day", segment=None
    ) -> dict:
        """The drift report as JSON, every page of windows followed."""
        params = _range(start, end, since, granularity) | _segment(segment)
        return self._windows(f"/v1/models/{_quote(model)}/drift", params)

    def performance(self, model: str, *, start=None, end=None, since=None, granularity: str = "day", segment=None):
        """Realized performance per window (metrics as columns), with label coverage, and the estimated
        performance beside it: ``estimated_<metric>`` with its band ``estimated_<metric>_lower`` and
        ``_upper`` (and ``estimated_rows``), where the model's reference allows an estimate. ``segment``: as
        :meth:`drift`."""
        body = self.performance_report(
            model, start=start, end=end, since=since, granularity=granularity, segment=segment
        )
        rows = []
        for w in body["windows"]:
            row = {k: v for k, v in w.items() if k not in ("metrics", "estimated")}
            row.update(w.get("metrics") or {})
            row.update(estimated_columns(w.get("estimated")))
            rows.append(row)
        return _frame(
            rows,
            ["window_start", "window_end", "predictions", "labelled", "label_coverage", "provisional"],
            times=["window_start", "window_end"],
        )

    def performance_report(
        self, model: str, *, start=None, end=None, since=None, granularity: str = "day", segment=None
    ) -> dict:
        """The performance report as JSON, every page of windows followed."""
        params = _range(start, end, since, granularity) | _segment(segment)
        return self._windows(f"/v1/models/{_quote(model)}/performance", params)

    def _windows(self, path: str, params: dict) -> dict:
        body = self.request("GET", path, params={**params, "limit": 1000})
        while body.get("next_cursor"):
            page = self.request("GET", path, params={**params, "limit": 1000, "cursor": body["next_cursor"]})
            body["windows"] += page["windows"]
            body["next_cursor"] = page.get("next_cursor")
        # without a start the server pages back from the latest windows: put them in time order
        body["windows"].sort(key=lambda w: w["window_start"])
        return body

    def alerts(
        self,
        model: str,
        *,
        status: str = "open",
        start=None,
        end=None,
        since=None,
        limit: int | None = None,
        segment=None,
    ):
        """Incidents (following every page unless ``limit``), open first then the most recent, as a DataFrame."""
        rows = self.alert_list(model, status=status, start=start, end=end, since=since, limit=limit, segment=segment)
        return _frame(rows, ALERT_COLUMNS, times=ALERT_TIMES)

    def alert_list(
        self,
        model: str,
        *,
        status: str = "open",
        start=None,
        end=None,
        since=None,
        limit: int | None = None,
        segment=None,
    ) -> list[dict]:
        """Incidents as dicts. ``status``: open, acknowledged, resolved or all; ``start``/``end``/``since``
        keep the incidents whose windows overlap the range; ``segment="region:eu"`` those raised in that
        segment value (each incident's ``segment``; None for the model-wide ones)."""
        params = _range(start, end, since, None) | _segment(segment)
        params["status"] = status
        alerts: list[dict] = []
        cursor = None
        while True:
            page_size = min(1000, limit - len(alerts)) if limit else 1000
            page = self.request(
                "GET", f"/v1/models/{_quote(model)}/alerts", params={**params, "limit": page_size, "cursor": cursor}
            )
            alerts.extend(page["alerts"])
            cursor = page.get("next_cursor")
            if not cursor or (limit and len(alerts) >= limit):
                return alerts[:limit] if limit else alerts

    def alert_get(self, model: str, alert_id: str) -> dict:
        """One incident with its per-window ``timeline`` and ranked ``causes``."""
        return self.request("GET", f"/v1/models/{_quote(model)}/alerts/{_quote(str(alert_id))}")

    alert = alert_get

    def ack(self, model: str, alert_id: str, note: str | None = None) -> dict:
        """Acknowledge an open incident (it stays open-but-acknowledged until its windows are clean)."""
        return self.request(
            "POST",
            f"/v1/models/{_quote(model)}/alerts/{_quote(str(alert_id))}/acknowledge",
            {"note": note} if note else {},
        )

    acknowledge = ack

    def resolve(self, model: str, alert_id: str) -> dict:
        """Resolve an incident by hand; if its condition returns, a new incident opens."""
        return self.request("POST", f"/v1/models/{_quote(model)}/alerts/{_quote(str(alert_id))}/resolve", {})

    def update_settings(self, model: str, **settings) -> dict:
        """Change drift settings (window, min_rows, thresholds, webhook_url, ...); None resets a key."""
        return self.request("PUT", f"/v1/models/{_quote(model)}/settings", settings)["settings"]

    def tenant_settings(self) -> dict:
        """The tenant's defaults of model settings: ``{"settings": stored, "in_force": {retention_days,
        notifications}}``. A model's own setting wins over them."""
        return self.request("GET", "/v1/settings")

    def update_tenant_settings(self, **settings) -> dict:
        """Set tenant-wide defaults (``retention_days``, ``notifications``); None removes one (back to the
        built-in default). Needs an admin key. Returns what ``tenant_settings()`` returns."""
        return self.request("PUT", "/v1/settings", settings)

    def patch_model(
        self,
        model: str,
        *,
        add_features: Any = None,
        remove_features: Iterable[str] = (),
        add_labels: Iterable[Any] = (),
        settings: dict | None = None,
        add_segments: Iterable[str] = (),
    ) -> dict:
        """Change a model: add features (``{"name": "type"}`` or ``[{"name", "type"}]``), remove features (their
        slot and history stay), append classification labels, append segment fields, merge settings. Renaming or
        retyping a feature, or removing a segment field, is refused by the server (400). Returns the model as it
        is now."""
        current = self.model(model)
        body: dict[str, Any] = {}
        removed = set(remove_features or ())
        if isinstance(add_features, dict):
            added = [{"name": str(k), "type": str(v)} for k, v in add_features.items()]
        else:
            added = [dict(f) for f in (add_features or ())]
        if added or removed:
            names = {f["name"] for f in current["features"]}
            unknown = sorted(removed - names)
            if unknown:
                raise ValueError(f"model {model!r} has no feature {unknown[0]!r} to remove")
            body["features"] = [
                dict(f, removed=True) if f["name"] in removed else f for f in current["features"]
            ] + added
        labels = [str(v) for v in add_labels or ()]
        if labels:
            body["labels"] = list(current.get("labels") or []) + labels
        new_segments = [str(s) for s in add_segments or ()]
        if new_segments:
            body["segments"] = list(current.get("segments") or []) + new_segments
        if settings:
            body["settings"] = settings
        changed = self.request("PATCH", f"/v1/models/{_quote(model)}", body)
        self._models[model] = changed
        return changed

    def delete_model(self, model: str) -> dict:
        """Delete a model with its rows, results and incidents; its name is free again at once."""
        self._models.pop(model, None)
        return self.request("DELETE", f"/v1/models/{_quote(model)}")

    def openapi(self) -> dict:
        return self.request("GET", "/v1/openapi.json")


DRIFT_COLUMNS = [
    "window_start",
    "window_end",
    "kind",
    "name",
    "type",
    "rows",
    "rows_reference",
    "verdict",
    "severity",
    "driver",
    "effect_ratio",
]
ALERT_COLUMNS = [
    "id",
    "kind",
    "subject",
    "condition",
    "segment",
    "status",
    "severity",
    "peak_severity",
    "first_window_start",
    "last_window_end",
    "windows_flagged",
    "opened_at",
    "acknowledged_at",
    "resolved_at",
    "summary",
    "causes",
]
ALERT_TIMES = ["first_window_start", "last_window_end", "opened_at", "acknowledged_at", "resolved_at"]


def _segment(segment: str | None) -> dict:
    """The reads' ``segment`` parameter: one segment value, ``<field>:<value>`` (``region:eu``)."""
    return {"segment": segment} if segment else {}


def drift_rows(report: dict) -> list[dict]:
    """Flatten a drift report: one dict per window and column, statistics as keys."""
    rows = []
    for w in report.get("windows") or []:
        columns = list(w.get("features") or [])
        columns += [c for c in (w.get("prediction"), w.get("score"), w.get("label"), w.get("multivariate")) if c]
        for c in columns:
            row = {"window_start": w["window_start"], "window_end": w.get("window_end")}
            row.update({k: v for k, v in c.items() if k not in ("statistics", "signals")})
            row["signals"] = ",".join(c.get("signals") or [])
            row.update(c.get("statistics") or {})
            rows.append(row)
    return rows


def _range(start, end, since, granularity) -> dict:
    if since is not None and start is not None:
        raise ValueError("give start or since, not both")
    if since is not None:
        start = parse_since(since)
    params = {"from": _time_param(start), "to": _time_param(end)}
    if granularity is not None:
        params["granularity"] = granularity
    return params


def _quote(segment: str) -> str:
    return urllib.parse.quote(str(segment), safe="")


def _frame(rows: list[dict], columns: list[str], times: list[str]):
    import pandas as pd

    df = pd.DataFrame(rows)
    for col in columns:
        if col not in df.columns:
            df[col] = None
    df = df[columns + [c for c in df.columns if c not in columns]]
    for col in times:
        df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601")
    return df


def _api_error(status: int, payload: bytes, method: str, path: str) -> SeiaAPIError:
    try:
        body = json.loads(payload)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        kind = SeiaForbiddenError if status == 403 and err.get("code") == "forbidden" else SeiaAPIError
        return kind(
            status,
            str(err.get("code", f"http_{status}")),
            str(err.get("message", "")),
            list(err.get("details") or []),
            method,
            path,
        )
    if isinstance(body, dict) and "message" in body:  # API Gateway's own answers
        return SeiaAPIError(status, f"http_{status}", str(body["message"]), [], method, path)
    text = payload.decode("utf-8", "replace").strip().splitlines()
    return SeiaAPIError(status, f"http_{status}", (text[0] if text else "")[:200], [], method, path)


# -- DataFrame → records --------------------------------------------------------------------------
class _Batch:
    __slots__ = ("body", "count", "start")

    def __init__(self, body: bytes, count: int, start: int):
        self.body, self.count, self.start = body, count, start


def _fit(records: list[dict], start: int = 0) -> Iterable[_Batch]:
    """JSON bodies of the records, halved until each is under the byte limit; ``start``: the first one's index."""
    if not records:
        return
    body = json.dumps({"records": records}, allow_nan=False, separators=(",", ":")).encode()
    if len(body) <= MAX_BATCH_BYTES or len(records) == 1:
        yield _Batch(body, len(records), start)
        return
    half = len(records) // 2
    yield from _fit(records[:half], start)
    yield from _fit(records[half:], start + half)


def _to_caller_rows(exc: SeiaAPIError, first_row: int, totals: dict) -> None:
    """Make a refused batch's record indexes count the caller's rows, and say what went before it.

    The API numbers a batch's records from 0; the caller knows the rows of the DataFrame (or of the
    frames, one after another). The batches before this one were stored: ``exc.sent`` has their totals.
    """
    for detail in exc.details:
        if isinstance(detail, dict) and isinstance(detail.get("index"), int):
            detail["index"] += first_row
    exc.first_row = first_row
    exc.sent = dict(totals)
    if first_row and exc.status:
        exc.message += f" (this batch began at row {first_row}; the {first_row:,} rows before it were sent)"
        exc.args = (f"{exc.status} {exc.code}: {exc.message}",)


def _column(df, name: str) -> list:
    """A column as Python values: NaN/NaT/None → None, numpy scalars → int/float/str/bool."""
    series = df[name]
    mask = series.isna().tolist()
    values = series.tolist()
    out: list[Any] = []
    for value, missing in zip(values, mask):
        if missing is True:
            out.append(None)
        elif hasattr(value, "item") and not isinstance(value, (str, bytes)):
            out.append(value.item())  # numpy scalar
        elif isinstance(value, dict):
            out.append({str(k): (v.item() if hasattr(v, "item") else v) for k, v in value.items()})
        else:
            out.append(value)
    return out


def _class_labels(values: list) -> list:
    # An integer label column with a gap reads as floats (1.0); the API wants the label 1.
    return [int(v) if isinstance(v, float) and v.is_integer() else v for v in values]


def _timestamps(df, name: str) -> list:
    import pandas as pd

    series = df[name]
    if not pd.api.types.is_datetime64_any_dtype(series):
        series = pd.to_datetime(series, utc=True, format="ISO8601")
    elif series.dt.tz is None:
        series = series.dt.tz_localize("UTC")  # naive timestamps are taken as UTC
    else:
        series = series.dt.tz_convert("UTC")
    text = series.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [None if pd.isna(t) else t for t in text.tolist()]


def _class_score_columns(df, model: dict, features: list[str]) -> dict:
    """``{label: "score_<label>"}`` of a frame with one score column per class (else empty).

    The API takes a classifier's score as a map class → probability; a frame holds it as one
    ``score_<label>`` column per class, as files do. Half of them would be a mistake, said now.
    """
    prefixed = [c for c in df.columns if isinstance(c, str) and c.startswith(SCORE_PREFIX) and c not in features]
    if not prefixed:
        return {}
    labels = model.get("labels")
    if labels is None:
        raise ValueError(f"regression models take no score: {', '.join(prefixed)}")
    expected = {str(label): SCORE_PREFIX + str(label) for label in labels}
    unknown = [c for c in prefixed if c not in expected.values()]
    if unknown:
        raise ValueError(
            f"{', '.join(unknown)}: no such class in model {model['name']!r} (classes: {', '.join(map(str, labels))})"
        )
    missing = [c for c in expected.values() if c not in prefixed]
    if missing:
        raise ValueError(f"missing columns {', '.join(missing)}: give score_<label> for every class, or none")
    return expected


def _segment_values(df, model: dict, columns: set, given: dict | None) -> dict[str, list] | None:
    """The rows' segment values by field: a column named as the field, or one value ``given`` for every row."""
    fields = list(model.get("segments") or [])
    given = dict(given or {})
    unknown = [k for k in given if k not in fields]
    if unknown:
        declared = ", ".join(fields) if fields else "none"
        raise ValueError(
            f"model {model['name']!r} has no segment field {unknown[0]!r} (its segment fields: {declared})"
        )
    both = [k for k in given if k in columns]
    if both:
        raise ValueError(f"segment field {both[0]!r} is both a column and in segments=; give one")
    values = {f: _column(df, f) for f in fields if f in columns}
    values.update({f: [v] * len(df) for f, v in given.items()})
    return values or None


def frame_to_records(df, model: dict, kind: str, segments: dict | None = None) -> list[dict]:
    """Records of a ``POST /v1/models/{model}/<kind>`` body from a DataFrame.

    A classifier's scores come from a ``score`` column (the positive class's probability, or a map
    class → probability) or from one ``score_<label>`` column per class. Segment values come from
    columns named as the model's segment fields, or ``segments`` (field → one value for every row).
    Raises ``ValueError`` naming the missing or unknown columns before anything is sent.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    columns = set(df.columns)
    if segments and kind == "ground-truths":
        raise ValueError("ground truths carry no segment values (they join their predictions)")
    if kind == "ground-truths":
        required = ["prediction_id", "label"]
    else:
        # a removed feature is not sent; one added by PATCH may be absent (missing) while producers catch up
        required = ["prediction_id", "timestamp", "prediction"] + [
            f["name"] for f in model["features"] if not f.get("removed_at") and not f.get("added_at")
        ]
    missing = [c for c in required if c not in columns]
    if missing:
        raise ValueError(f"missing columns for {kind} of model {model['name']!r}: {', '.join(missing)}")
    n = len(df)
    ids = [None if v is None else str(v) for v in _column(df, "prediction_id")]
    if kind == "ground-truths":
        truths = _column(df, "label")
        if model.get("labels") is not None:
            truths = _class_labels(truths)
        times = _timestamps(df, "timestamp") if "timestamp" in columns else [None] * n
        records = []
        for i in range(n):
            rec = {"prediction_id": ids[i], "label": truths[i]}
            if times[i] is not None:
                rec["timestamp"] = times[i]
            records.append(rec)
        return records
    names = [f["name"] for f in model["features"] if not f.get("removed_at") and f["name"] in columns]
    feature_values = [_column(df, name) for name in names]
    times = _timestamps(df, "timestamp")
    predictions = _column(df, "prediction")
    classification = model.get("labels") is not None
    if classification:
        predictions = _class_labels(predictions)
    scores = _column(df, "score") if "score" in columns else None
    class_scores = _class_score_columns(df, model, [f["name"] for f in model["features"]])
    if class_scores and scores is not None:
        raise ValueError(f"give a score column or score_<label> columns, not both ({', '.join(class_scores)})")
    if class_scores:
        per_class = {label: _column(df, column) for label, column in class_scores.items()}
        scores = []
        for i in range(n):
            given = {label: values[i] for label, values in per_class.items() if values[i] is not None}
            # A row without any class score has none; a partial map goes as it is, for the API to name.
            scores.append(given or None)
    labels = _column(df, "label") if kind == "reference" and "label" in columns else None
    if labels is not None and classification:
        labels = _class_labels(labels)
    seg = _segment_values(df, model, columns, segments)
    records = []
    for i in range(n):
        rec = {
            "prediction_id": ids[i],
            "timestamp": times[i],
            "features": {name: values[i] for name, values in zip(names, feature_values)},
            "prediction": predictions[i],
        }
        if scores is not None and scores[i] is not None:
            rec["score"] = scores[i]
        if labels is not None and labels[i] is not None:
            rec["label"] = labels[i]
        if seg is not None:
            row_segments = {f: values[i] for f, values in seg.items() if values[i] is not None}
            if row_segments:
                rec["segments"] = row_segments
        records.append(rec)
    return records


def estimated_columns(estimated: dict | None) -> dict:
    """A window's ``estimated`` object as flat columns: ``estimated_<metric>``, ``_lower``, ``_upper``."""
    if not estimated:
        return {}
    out = {"estimated_rows": estimated.get("rows")}
    for metric, v in (estimated.get("metrics") or {}).items():
        out[f"estimated_{metric}"] = v.get("value")
        out[f"estimated_{metric}_lower"] = v.get("lower")
        out[f"estimated_{metric}_upper"] = v.get("upper")
    return out
