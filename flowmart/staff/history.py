"""Model history context: pghistory's middleware records the user and URL of every write request; we add the
caller's IP address, so a price or a role changed in the admin says who, when, from where."""

from __future__ import annotations

from pghistory.middleware import HistoryMiddleware

from flowmart.staff.actions import request_client_ip


class StaffHistoryMiddleware(HistoryMiddleware):
    def get_context(self, request) -> dict:
        return {**super().get_context(request), "ip": request_client_ip(request)}
