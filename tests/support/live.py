"""The local API over real HTTP on a free port, served from a thread (as `make up` serves it)."""

from __future__ import annotations

import contextlib
import threading

from infra.local.apihost import ApiHost, default_functions, make_server


@contextlib.contextmanager
def serving():
    """Yield the base URL of the API; stop the server on exit."""
    from tests.conftest import reset_process_caches

    reset_process_caches()
    server = make_server(ApiHost(default_functions()), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
