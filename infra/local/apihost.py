"""The local API gateway: HTTP in, API Gateway v1 events to the Chalice handlers, HTTP out.

It routes as the REST API in template.yaml does (each route to the function that owns it) and
invokes the handler with a real proxy event, the way API Gateway and Lambda would. Given a
:class:`~infra.local.throttle.Throttle` (``make up`` gives it template.yaml's limits), it answers 429 with
``Retry-After`` as API Gateway's usage plan and stage throttling would, before any function runs.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from chalice.local import RouteMatcher

from infra.local.events import LambdaContext, api_gateway_event
from infra.local.throttle import Limits, Throttle

log = logging.getLogger("seia.apihost")


class _ThreadLocalRequest:
    """Chalice keeps ``current_request`` on the app object; served from threads it must be per thread."""

    _local = threading.local()

    @property
    def current_request(self):
        return getattr(self._local, "current_request", None)

    @current_request.setter
    def current_request(self, value):
        self._local.current_request = value


def _thread_safe(app):
    if not isinstance(app, _ThreadLocalRequest):
        app.__class__ = type(f"Local{type(app).__name__}", (_ThreadLocalRequest, type(app)), {})
    return app


def default_functions() -> dict:
    """Function name → Chalice app, as in template.yaml."""
    import ingest_app
    import query_app

    return {"IngestApiFunction": ingest_app.app, "QueryApiFunction": query_app.app}


class ApiHost:
    def __init__(self, functions: dict, throttle: Throttle | None = None):
        self.throttle = throttle
        self.functions = {name: _thread_safe(app) for name, app in functions.items()}
        self.routes: dict[tuple[str, str], str] = {}
        for name, app in self.functions.items():
            for path, methods in app.routes.items():
                for method in methods:
                    self.routes[(path, method)] = name
        self.matcher = RouteMatcher(sorted({path for path, _ in self.routes}))

    def invoke(self, method: str, url: str, headers: dict, body: bytes | None) -> tuple[int, dict, bytes]:
        path = urlsplit(url).path
        try:
            match = self.matcher.match_route(path)
        except ValueError:
            return _error(404, "not_found", f"no route {path[:100]}")
        function = self.routes.get((match.route, method.upper()))
        if function is None:
            return _error(405, "method_not_allowed", f"{method} is not allowed on {match.route}")
        if self.throttle is not None:
            wait = self.throttle.admit(headers)
            if wait is None and not self.throttle.enter(function):
                wait = 1
                message = f"{function} is running all its {self.throttle.limits.concurrency[function]} executions"
            elif wait is not None:
                message = f"too many requests; retry in {wait} s"
            if wait is not None:
                status, error_headers, payload = _error(429, "too_many_requests", message)
                return status, {**error_headers, "Retry-After": str(wait)}, payload
            try:
                return self._call(function, method, url, headers, body, match)
            finally:
                self.throttle.leave(function)
        return self._call(function, method, url, headers, body, match)

    def _call(self, function: str, method: str, url: str, headers: dict, body: bytes | None, match):
        # Routes match on the encoded path (so %2F stays inside one parameter); API Gateway then hands the
        # function each parameter decoded: %27 as ', %2F as /, %C2%B2 as ².
        params = {name: unquote(value) for name, value in (match.captured or {}).items()}
        event = api_gateway_event(method, url, headers, body, resource=match.route, path_parameters=params)
        response = self.functions[function](event, LambdaContext(function))
        out = response.get("body") or ""
        payload = base64.b64decode(out) if response.get("isBase64Encoded") else out.encode("utf-8")
        return response["statusCode"], dict(response.get("headers") or {}), payload


def _error(status: int, code: str, message: str) -> tuple[int, dict, bytes]:
    body = json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()
    return status, {"Content-Type": "application/json"}, body


def make_server(host: ApiHost, address: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, out_headers, payload = host.invoke(self.command, self.path, headers, body)
            self.send_response(status)
            for key, value in out_headers.items():
                if key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        def log_message(self, fmt, *args):  # one line per request, no headers (they hold keys)
            log.info("%s %s", self.address_string(), fmt % args)

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # API Gateway takes every connection; the listen backlog must not reset them

    server = Server((address, port), Handler)
    server.daemon_threads = True
    return server


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Serve Seia's HTTP API locally")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = make_server(ApiHost(default_functions(), Throttle(Limits.from_template())), args.host, args.port)
    print(f"Seia API listening on http://{args.host}:{args.port}  (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
