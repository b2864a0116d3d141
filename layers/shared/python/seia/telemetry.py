"""Structured logs and CloudWatch metrics at the functions' edges (Powertools for AWS Lambda).

A Lambda entry module calls ``setup()`` once at import: from then on the records of the ``seia`` logger
and the functions' packages' loggers (``seia_drift``, ``seia_files``, ...) are written as JSON lines, with the keys of the current invocation (request id,
tenant, message id). ``invocation()`` wraps one invocation; metrics counted inside it with ``count()``
are flushed at its end as one embedded-metric-format document, which CloudWatch turns into metrics.
Both go to stderr, which Lambda sends to the function's log stream as it does stdout.

Nothing here configures logging on import: the CLI and the tests import the same modules and keep
their plain logs and their stdout.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

# Each function's name for itself (template.yaml sets POWERTOOLS_SERVICE_NAME per function).
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "seia"
# The package loggers whose records become JSON lines; "seia" is the Powertools logger itself, so
# its children (seia.http, seia.access, ...) reach the handler by propagation; each function's own
# package gets the same handler.
_PACKAGES = ("seia", "seia_drift", "seia_files", "seia_ingest", "seia_query")

RECORDS_ACCEPTED = "RecordsAccepted"
ROWS_PROFILED = "RowsProfiled"
INCIDENTS_OPENED = "IncidentsOpened"
DELIVERY_FAILURES = "DeliveryFailures"

metrics = Metrics(
    # An explicit namespace would win over the environment's: pass one only when it is unset (locally).
    namespace=None if os.environ.get("POWERTOOLS_METRICS_NAMESPACE") else "Seia",
    service=SERVICE,
)


def _stderr():
    # The process's own stderr, even while sys.stderr is swapped for a command's captured output: the
    # local API host and the CLI can share a process (in tests), and the logs are the process's.
    return sys.__stderr__ or sys.stderr


class _Stderr(logging.StreamHandler):
    """A handler writing to the process's stderr (Lambda sends it to the function's log stream like
    stdout): stderr, because a command's stdout is its output."""

    @property
    def stream(self):
        return _stderr()

    @stream.setter
    def stream(self, value):
        pass


_in_invocation: ContextVar[bool] = ContextVar("seia_in_invocation", default=False)
_logger: Logger | None = None


def setup() -> Logger:
    """Route the package loggers to one JSON handler (once per process); returns the Powertools logger."""
    global _logger
    if _logger is None:
        level = os.environ.get("SEIA_LOG_LEVEL") or os.environ.get("POWERTOOLS_LOG_LEVEL") or "INFO"
        # Named "seia" so that the root logger's handlers (Lambda's own) are told to drop its records:
        # each record is written once, as JSON.
        logger = Logger(service=_PACKAGES[0], level=level, logger_handler=_Stderr())
        logger.append_keys(service=SERVICE, name="%(name)s")
        for name in _PACKAGES[1:]:
            package = logging.getLogger(name)
            package.setLevel(logger.log_level)
            package.addHandler(logger.registered_handler)
        _logger = logger
    return _logger


def append_keys(**keys: object) -> None:
    """Add keys to every log line of the current invocation (a no-op outside a function)."""
    if _logger is not None:
        _logger.thread_safe_append_keys(**keys)


@contextmanager
def keys(**scoped: object) -> Iterator[None]:
    """Keys for a part of an invocation (one message of a batch); whatever was appended inside goes too."""
    before = dict(_logger.thread_safe_get_current_keys()) if _logger is not None else {}
    append_keys(**scoped)
    try:
        yield
    finally:
        if _logger is not None:
            _logger.thread_safe_clear_keys()
            _logger.thread_safe_append_keys(**before)


@contextmanager
def invocation(context=None, request_id: str | None = None) -> Iterator[None]:
    """One Lambda invocation: its request id on every log line, its metrics flushed when it ends."""
    logger = setup()
    logger.thread_safe_clear_keys()  # a warm container's previous invocation leaves nothing behind
    function_request_id = getattr(context, "aws_request_id", None)
    logger.thread_safe_append_keys(
        request_id=request_id or function_request_id,
        function_request_id=function_request_id if request_id else None,
    )
    token = _in_invocation.set(True)
    try:
        yield
    finally:
        _in_invocation.reset(token)
        logger.thread_safe_clear_keys()
        flush()


def count(name: str, value: int) -> None:
    """Add ``value`` to a count metric of the current invocation.

    Outside one (the CLI, a test driving the engine directly) nothing is recorded: there is no end
    of invocation to flush at, and the CLI's stdout is its output.
    """
    if _in_invocation.get():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def flush() -> None:
    """Write the recorded metrics as one EMF JSON line (CloudWatch reads it from the function's logs).

    To stderr, like the logs, not with Powertools' ``print``: where the API runs inside a process
    whose stdout is a command's output (the local host, the CLI's tests), that output stays clean.
    """
    if metrics.metric_set:
        document = metrics.serialize_metric_set()
        metrics.clear_metrics()
        if not is_metrics_disabled():
            stream = _stderr()
            stream.write(json.dumps(document, separators=(",", ":")) + "\n")
            stream.flush()
