"""Static files of the dashboard, served by the query function from its own code folder."""

from __future__ import annotations

import re
from pathlib import Path

from seia.errors import NotFound

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
}
# A flat folder: API Gateway's {file} never spans a slash, and no name may climb out of the folder.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$")
# The page talks to its own origin only, so a script injected elsewhere cannot ship the key away.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class StaticFiles:
    def __init__(self, root: Path):
        self.root = Path(root)
        self._cache: dict[str, tuple[str, str]] = {}

    def get(self, name: str) -> tuple[str, str]:
        """(content type, text) of a file of the folder, or ``NotFound``."""
        if name in self._cache:
            return self._cache[name]
        suffix = Path(name).suffix.lower() if isinstance(name, str) else ""
        if not isinstance(name, str) or not _NAME.fullmatch(name) or suffix not in CONTENT_TYPES:
            raise NotFound(f"no dashboard file {str(name)[:64]!r}")
        try:
            text = (self.root / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise NotFound(f"no dashboard file {name!r}") from None
        # Files are part of the deployed code: caching them per process is safe.
        self._cache[name] = (CONTENT_TYPES[suffix], text)
        return self._cache[name]
