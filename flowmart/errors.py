"""The one base for errors a caller can act on.

Services raise subclasses defined next to them. Each carries a machine-readable
``code`` and an HTTP ``status`` hint, so the API's problem-details handler and
the storefront's messages turn them into a clear answer without knowing every
app's exceptions.
"""

from __future__ import annotations

from typing import Any


class FlowMartError(Exception):
    code = "error"
    status = 400
    title = "The request could not be completed"

    def __init__(self, detail: str | None = None, *, code: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.title
        if code:
            self.code = code
        self.extra = extra
        super().__init__(self.detail)


class NotFound(FlowMartError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(FlowMartError):
    code = "conflict"
    status = 409
    title = "Conflict with the current state"


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = "That action is not allowed in the current state"
