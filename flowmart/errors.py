"""The one base for errors a caller can act on, and the catalogue of their codes.

Services raise subclasses defined next to them. Each carries a machine-readable
``code`` and an HTTP ``status`` hint, so the API's problem-details handler and
the storefront's messages turn them into a clear answer without knowing every
app's exceptions.

Every code a client can receive is declared once, with its status and meaning:
a ``FlowMartError`` subclass declares its ``code`` (meaning: its ``title``) and
the ``variants`` it may be raised with instead (``code=...`` at the raise site,
same status); codes that do not come from a ``FlowMartError`` (DRF's own) are
declared with ``error_code_declare``. A code has one status everywhere: declaring
it twice with different statuses fails at import, and an error raised with a
declared code takes that code's status. ``manage.py api_errors`` writes the
catalogue to ``docs/api-errors.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    meaning: str
    declared_by: str  # "module.Class" or "module"


_CATALOGUE: dict[str, list[ErrorCode]] = {}


class ErrorCodeConflict(TypeError):
    """One code declared with two HTTP statuses."""


def error_code_declare(code: str, *, status: int, meaning: str, declared_by: str) -> None:
    declarations = _CATALOGUE.setdefault(code, [])
    for known in declarations:
        if known.status != status:
            raise ErrorCodeConflict(
                f"error code {code!r} is {known.status} in {known.declared_by} but {status} in {declared_by}"
            )
    entry = ErrorCode(code=code, status=status, meaning=meaning, declared_by=declared_by)
    if entry not in declarations:
        declarations.append(entry)


def error_code_status(code: str) -> int | None:
    declarations = _CATALOGUE.get(code)
    return declarations[0].status if declarations else None


def error_codes() -> dict[str, list[ErrorCode]]:
    """Every declared code, sorted, with its declarations (sorted by who declares them)."""
    return {code: sorted(_CATALOGUE[code], key=lambda e: e.declared_by) for code in sorted(_CATALOGUE)}


class FlowMartError(Exception):
    code = "error"
    status = 400
    title = "The request could not be completed"
    # Other codes this error may be raised with (``code=`` at the raise site): code -> meaning.
    variants: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        where = f"{cls.__module__}.{cls.__qualname__}"
        error_code_declare(cls.code, status=cls.status, meaning=cls.title, declared_by=where)
        for code, meaning in cls.__dict__.get("variants", {}).items():
            error_code_declare(code, status=cls.status, meaning=meaning, declared_by=where)

    def __init__(self, detail: str | None = None, *, code: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.title
        if code:
            self.code = code
            # A code passed along from another error keeps the status it is declared with.
            self.status = error_code_status(code) or self.status
        self.extra = extra
        super().__init__(self.detail)


error_code_declare(
    FlowMartError.code,
    status=FlowMartError.status,
    meaning=FlowMartError.title,
    declared_by="flowmart.errors.FlowMartError",
)


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
