"""``Idempotency-Key`` for POST endpoints that spend money or stock.

    class CheckoutView(APIView):
        @idempotent
        def post(self, request): ...

* First request with a key: runs, and its response (2xx or 4xx) is stored.
* Same key, same body: the stored response is replayed (``Idempotent-Replayed: true``).
* Same key, different body: 422 ``idempotency_key_reused``.
* Same key while the first is still running: 409 ``idempotency_key_in_flight``, unless the view can tell
  from what the first request already committed (``@idempotent(recover=...)``: checkout finds the order it
  created, bound to the key in the order's own transaction).
* A 5xx, a 202 (accepted, still running) or a crash forgets the key, so the client's retry runs again. Forgetting survives a database
  connection that died under the request (it is done again on a fresh connection); a process that died
  leaves the key "in flight" until ``IDEMPOTENCY_IN_FLIGHT_STALE_SECONDS`` (90 s: longer than any request
  may live, gunicorn kills a worker after 60 s), then a retry takes it over; ``recover`` answers sooner
  where it exists.
* Keys are per caller (user, else session) and kept ``IDEMPOTENCY_KEY_TTL`` (24 h).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from rest_framework.response import Response

from flowmart.api.models import IdempotencyRecord
from flowmart.errors import Conflict, FlowMartError

HEADER = "Idempotency-Key"


class IdempotencyKeyInvalid(FlowMartError):
    code = "idempotency_key_invalid"
    title = "Invalid Idempotency-Key"


class IdempotencyKeyReused(FlowMartError):
    code = "idempotency_key_reused"
    status = 422
    title = "Idempotency-Key already used for a different request"


class IdempotencyKeyInFlight(Conflict):
    code = "idempotency_key_in_flight"
    title = "A request with this Idempotency-Key is still being processed"


def _owner(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    session = request._request.session if hasattr(request, "_request") else request.session
    if not session.session_key:
        session.save()
    return f"session:{session.session_key}"


def idempotency_scope(request) -> str:
    """The request's Idempotency-Key scoped to its caller, as a 64-character digest ("" without a key): what a
    service stores beside what the request created, so a retry of the same request can find it."""
    key = request.headers.get(HEADER)
    if not key:
        return ""
    return hashlib.sha256(f"{_owner(request)}\0{key}".encode()).hexdigest()


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


def idempotency_begin(
    *, owner: str, key: str, method: str, path: str, fingerprint: str
) -> tuple[IdempotencyRecord, bool]:
    """Claim the key. Returns (record, is_new); raises if the key cannot be used now."""
    now = timezone.now()
    for _ in range(2):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    owner=owner,
                    key=key,
                    method=method,
                    path=path,
                    fingerprint=fingerprint,
                    expires_at=now + settings.IDEMPOTENCY_KEY_TTL,
                )
            return record, True
        except IntegrityError:
            pass
        with transaction.atomic():
            record = IdempotencyRecord.objects.select_for_update().filter(owner=owner, key=key).first()
            if record is None:
                continue  # removed between our insert and read: try the insert again
            expired = record.expires_at <= now
            # A first request still "in flight" after this long died with its process; a retry takes over.
            stale_before = now - timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_STALE_SECONDS)
            stale = record.status == IdempotencyRecord.Status.IN_FLIGHT and record.created_at <= stale_before
            if expired or stale:
                record.delete()
                continue
            if record.fingerprint != fingerprint:
                raise IdempotencyKeyReused("This Idempotency-Key was used with a different request body or endpoint.")
            if record.status == IdempotencyRecord.Status.IN_FLIGHT:
                raise IdempotencyKeyInFlight("The first request with this key has not finished yet; retry shortly.")
            return record, False
    raise IdempotencyKeyInFlight("The key is being claimed by another request; retry shortly.")


def idempotency_complete(*, record: IdempotencyRecord, response: Response) -> None:
    headers = {h: response[h] for h in ("Location",) if response.has_header(h)}
    _on_a_live_connection(
        lambda: IdempotencyRecord.objects.filter(pk=record.pk).update(
            status=IdempotencyRecord.Status.COMPLETED,
            response_status=response.status_code,
            response_body=response.data,
            response_headers=headers,
        )
    )


def idempotency_forget(*, record: IdempotencyRecord) -> None:
    _on_a_live_connection(lambda: IdempotencyRecord.objects.filter(pk=record.pk).delete())


def _on_a_live_connection(write):
    """Run ``write``; if the request's database connection died under it (the server restarted, the backend
    was terminated), run it once more on a new connection, so the key is not left "in flight"."""
    try:
        return write()
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block:
            raise
        try:
            connection.close()
        except (OperationalError, InterfaceError):
            connection.connection = None  # already gone: the next query opens a new one
        return write()


def idempotency_purge_expired() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


def idempotent(view_method=None, *, recover=None):
    """Decorate a DRF view's ``post`` (or any unsafe method) to honour ``Idempotency-Key``.

    ``recover(view, request)``, if given, answers a retry whose first request is still in flight (or died with
    its process) from what that request already committed; it returns a Response, or None for the usual 409.
    """
    if view_method is None:
        return lambda method: idempotent(method, recover=recover)

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        if not (1 <= len(key) <= 255) or not key.isprintable():
            raise IdempotencyKeyInvalid("Idempotency-Key must be 1 to 255 printable characters.")

        fingerprint = request_fingerprint(method=request.method, path=request.path, body=request.body)
        try:
            record, is_new = idempotency_begin(
                owner=_owner(request), key=key, method=request.method, path=request.path, fingerprint=fingerprint
            )
        except IdempotencyKeyInFlight:
            recovered = recover(self, request) if recover is not None else None
            if recovered is None:
                raise
            return recovered
        if not is_new:
            replay = Response(record.response_body, status=record.response_status, headers=record.response_headers)
            replay["Idempotent-Replayed"] = "true"
            if record.response_status and record.response_status >= 400:
                replay.content_type = "application/problem+json"
            return replay

        try:
            response = view_method(self, request, *args, **kwargs)
        except Exception as exc:
            # Let DRF turn it into the response the client would see, so a 4xx is replayed too.
            response = self.handle_exception(exc)
        if response.status_code >= 500 or response.status_code == 202:
            # Not a final answer (a failure, or "accepted, still running"): the retry asks again.
            idempotency_forget(record=record)
        else:
            idempotency_complete(record=record, response=response)
        return response

    wrapper.honours_idempotency_key = True  # the schema documents the header (flowmart.api.schema)
    return wrapper
