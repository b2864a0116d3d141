"""What every Chalice route shares: the JSON body, the error shape, the response, the request's logs."""

from __future__ import annotations

import functools
import logging
import time

from chalice import Response

from seia import jsonutil, scopes, telemetry
from seia.config import MAX_BODY_BYTES
from seia.errors import BadRequest, Detail, PayloadTooLarge, SeiaError, UnsupportedMediaType

log = logging.getLogger("seia.http")
# Routes accept any content type so that a wrong one gets Seia's error shape, not Chalice's.
ANY_CONTENT_TYPE = ["*/*"]


def json_body(request):
    """The request's JSON body: 415 unless application/json, 413 over 6 MB, 400 when malformed."""
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType(
            f"send Content-Type: application/json (got {content_type[:80] or 'none'!r})",
            [Detail(None, "Content-Type", "must be application/json")],
        )
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"body of {len(raw)} bytes; the limit is {MAX_BODY_BYTES}",
            [Detail(None, None, f"at most {MAX_BODY_BYTES} bytes per request")],
        )
    charset = _charset(request.headers.get("content-type") or "")
    if charset not in (None, "utf-8", "utf8"):
        raise UnsupportedMediaType(
            f"send JSON encoded as UTF-8 (got charset={charset[:40]!r})",
            [Detail(None, "Content-Type", "charset must be utf-8")],
        )
    try:
        return jsonutil.loads(raw)
    except jsonutil.JSONEncodingError as exc:
        raise UnsupportedMediaType(str(exc), [Detail(None, "body", "must be UTF-8 encoded JSON")]) from None
    except jsonutil.LoneSurrogate as exc:
        index, field = _located(exc.path)
        raise BadRequest(
            f"{jsonutil.format_path(exc.path)[:100]} is not valid Unicode",
            [Detail(index, field, "contains a lone UTF-16 surrogate (\\ud800-\\udfff); send valid Unicode")],
        ) from None
    except jsonutil.JSONError as exc:
        raise BadRequest("the body is not valid JSON", [Detail(None, None, str(exc)[:200])]) from None


def _charset(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def _located(path: list) -> tuple[int | None, str | None]:
    """(record index, field) as the record validators name them: records[3].features.plan → (3, features.plan)."""
    if len(path) >= 2 and path[0] == "records" and isinstance(path[1], int):
        return path[1], jsonutil.format_path(path[2:])[:100] or None
    return None, jsonutil.format_path(path)[:100] or None


def json_response(body, status: int = 200) -> Response:
    return Response(body=jsonutil.dumps(body), status_code=status, headers={"Content-Type": "application/json"})


def api_view(fn):
    """Turn ``(status, body)`` or a raised ``SeiaError`` into a JSON response; never leak a 500's cause."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            status, body = fn(*args, **kwargs)
        except SeiaError as exc:
            response = json_response(exc.as_body(), exc.status)
            if getattr(exc, "retry_after", None):
                response.headers["Retry-After"] = str(exc.retry_after)
            return response
        except Exception:
            log.exception("unhandled error in %s", fn.__name__)
            return json_response({"error": {"code": "internal", "message": "internal error", "details": []}}, 500)
        return json_response(body, status)

    return wrapper


def observe(app):
    """Log each request of ``app`` as JSON keyed by its request id (the tenant is added once the key is
    checked), one line per request, and flush its metrics when it ends. Called by each HTTP function."""
    telemetry.setup()

    @app.middleware("http")
    def _request_scope(request, get_response):
        context = request.context or {}
        started = time.monotonic()
        # API Gateway's id is the one a client sees (x-amzn-RequestId); Lambda's is logged beside it.
        with telemetry.invocation(request.lambda_context, request_id=context.get("requestId")):
            response = get_response(request)
            # The route's template, not the path or query string: nothing a client sent is echoed.
            log.info(
                "%s %s %d %.0f ms",
                request.method,
                context.get("resourcePath") or "-",
                response.status_code,
                1000 * (time.monotonic() - started),
            )
            return response

    return app


def query_params(request) -> dict:
    return dict(request.query_params or {})


def authenticated_views(app, get_service):
    """The decorator of ``app``'s routes that act for a tenant, given the function's ``get_service``.

    A decorated route is an :func:`api_view` called as ``route(service, tenant, request, **path
    parameters)``: the request's API key has been checked and its tenant found (401 otherwise), and the key
    holds a scope the route needs (403 otherwise; :mod:`seia.scopes` says which, from the method and the
    route's template), so the route's body is the one service call it makes. A route whose needs differ from
    that rule says so: ``@authenticated(scope={"read", "ingest"})``; ``caller=True`` passes the
    :class:`seia.access.Caller` (tenant, scopes, expiry) instead of the tenant.
    """

    def authenticated(fn=None, *, scope=None, caller: bool = False):
        declared = None if scope is None else frozenset([scope] if isinstance(scope, str) else scope)
        if declared is not None:
            scopes.required("GET", "/", declared)  # an unknown scope fails at import, not at the first request

        def decorate(fn):
            @api_view
            @functools.wraps(fn)
            def view(**params):
                request = app.current_request
                service = get_service()
                who = service.authenticate(request.headers)
                # The route's template as Chalice matched it (never the raw path: nothing sent is echoed).
                template = (request.context or {}).get("resourcePath") or ""
                scopes.check(who.scopes, request.method, template, declared)
                return fn(service, who if caller else who.tenant, request, **params)

            view.seia_scope = declared  # type: ignore[attr-defined]  # read by the route × scope tests
            return view

        return decorate(fn) if fn is not None else decorate

    return authenticated
