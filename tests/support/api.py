"""A test client that sends HTTP-shaped requests through the local API gateway to the handlers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from infra.local.apihost import ApiHost, default_functions

_HOST = None
_NO_BODY = object()


@dataclass
class Reply:
    status: int
    headers: dict
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    @property
    def error(self) -> dict:
        return self.body["error"]

    def fields(self) -> set:
        return {d["field"] for d in self.error["details"]}


class ApiClient:
    def __init__(self):
        global _HOST
        if _HOST is None:
            _HOST = ApiHost(default_functions())
        self.host = _HOST

    def request(
        self,
        method: str,
        path: str,
        key: str | None = None,
        json_body: Any = _NO_BODY,
        raw: bytes | None = None,
        content_type: str | None = "application/json",
        headers: dict | None = None,
    ) -> Reply:
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        if key is not None:
            hdrs["authorization"] = f"Bearer {key}"
        body = raw
        if json_body is not _NO_BODY:
            body = json.dumps(json_body).encode()
        if body is not None and content_type:
            hdrs.setdefault("content-type", content_type)
        status, out_headers, payload = self.host.invoke(method, path, hdrs, body)
        return Reply(status, out_headers, payload)

    def get(self, path, key=None, **kw) -> Reply:
        return self.request("GET", path, key, **kw)

    def post(self, path, key=None, json=_NO_BODY, **kw) -> Reply:
        return self.request("POST", path, key, json_body=json, **kw)
