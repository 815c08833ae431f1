"""allauth headless, as FlowMart serves it: the token refresh says why it refused.

allauth answers a refresh token it no longer accepts (rotated away by an earlier refresh, expired, signed
out, forged) with a bare ``{"status": 400}``; an app cannot tell the user anything. The same 400 carries
one error naming the reason and what to do (``invalid_refresh_token``; allauth's own error shape).
"""

from __future__ import annotations

import json

from allauth.headless.constants import Client
from allauth.headless.internal.restkit.response import ErrorResponse
from allauth.headless.tokens.views import RefreshTokenView as AllauthRefreshTokenView
from django.core.exceptions import ValidationError

REFRESH_REFUSED = (
    "This refresh token is no longer valid: it was already used (each refresh returns a new one), "
    "has expired or belongs to a session that signed out. Log in again."
)


class RefreshTokenView(AllauthRefreshTokenView):
    def post(self, request):
        response = super().post(request)
        if response.status_code == 400 and not _has_errors(response):
            return ErrorResponse(request, exception=ValidationError(REFRESH_REFUSED, code="invalid_refresh_token"))
        return response


def _has_errors(response) -> bool:
    return bool(json.loads(response.content).get("errors"))


refresh_token_view = RefreshTokenView.as_api_view(client=Client.APP)
