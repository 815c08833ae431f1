"""Every kind has default templates for each of its channels, and they render on sample data."""

from __future__ import annotations

import pytest

from notifications.kinds import KINDS
from notifications.rendering import render_message, sample_context

CASES = [(kind.key, channel) for kind in KINDS.values() for channel in kind.channels]


@pytest.mark.parametrize(("kind", "channel"), CASES)
def test_default_template_renders(db, kind, channel):
    message = render_message(kind=kind, channel=channel, context=sample_context(kind=kind, channel=channel))

    assert message.template == f"default:{kind}/{channel}"
    assert message.text.strip()
    assert "{{" not in message.text and "{%" not in message.text
    if channel in ("email", "push"):
        assert message.subject and "\n" not in message.subject
    if channel == "email":
        assert message.html.startswith("<!doctype html>")
        assert "Hello Casey Customer," in message.text
        assert "http://127.0.0.1:8000/notifications/unsubscribe/sample/" in message.html
        assert "because of your  settings" not in message.text
    if channel == "sms":
        assert len(message.text) <= 320, "an SMS should fit in two segments"


def test_text_parts_are_not_html_escaped(db):
    message = render_message(
        kind="order_on_hold",
        channel="email",
        context={"order_number": "FM-1", "reason": "Tom & Jerry's <special> item", "expected_delay_days": 1},
    )

    assert "Order FM-1 is on hold: Tom & Jerry's <special> item." in message.text
    assert "Tom &amp; Jerry&#x27;s &lt;special&gt; item" in message.html
