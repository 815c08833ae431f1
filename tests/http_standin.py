"""The shell of the tests' local stand-ins for other companies' HTTP APIs (no network in tests): a threaded
server on a free loopback port that hands every GET and POST to the stand-in's ``_handle``."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class HttpStandIn:
    """Use as a context manager: serving from ``__enter__`` until ``__exit__``. Subclasses set ``url_path``
    (the API's base path) and define ``_handle(handler, method)``."""

    url_path = ""

    def __init__(self) -> None:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                standin._handle(self, "GET")

            def do_POST(self):
                standin._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{self.url_path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
