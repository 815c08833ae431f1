"""The reports' one command: the weekly summary email to the Manager and Finance groups."""

from __future__ import annotations

import datetime as dt

import structlog
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from flowmart.network_calls import assert_no_transaction
from flowmart.reporting import DateRange
from flowmart.users import selectors as user_selectors
from reports.selectors import owner_report

log = structlog.get_logger(__name__)


def last_week(*, today: dt.date | None = None) -> DateRange:
    """Monday to Sunday of the week before ``today``'s."""
    today = today or timezone.localdate()
    monday = today - dt.timedelta(days=today.weekday() + 7)
    return DateRange(since=monday, until=monday + dt.timedelta(days=6))


def weekly_summary_send(*, today: dt.date | None = None) -> int:
    """Email last week's figures (the same as Admin → Reports and the staff API) to every active staff member
    of ``REPORTS_SUMMARY_GROUPS``, one message each; returns how many were sent. Runs with no transaction open
    (the mail server is a network call)."""
    assert_no_transaction("the weekly summary email")
    recipients = user_selectors.staff_emails_in_groups(groups=settings.REPORTS_SUMMARY_GROUPS)
    if not recipients:
        log.info("reports.weekly_summary.no_recipients", groups=settings.REPORTS_SUMMARY_GROUPS)
        return 0
    report = owner_report(date_range=last_week(today=today), period="day")
    context = {"report": report, "shop_name": settings.SHOP_NAME, "site_url": settings.SITE_URL}
    subject = f"{settings.SHOP_NAME}: week of {report.date_range.since:%-d %b} – {report.date_range.until:%-d %b %Y}"
    text = render_to_string("reports/weekly_summary.txt", context)
    html = render_to_string("reports/weekly_summary.html", context)
    for address in recipients:
        message = EmailMultiAlternatives(subject=subject, body=text, to=[address])
        message.attach_alternative(html, "text/html")
        message.send()
    log.info("reports.weekly_summary.sent", recipients=len(recipients), since=str(report.date_range.since))
    return len(recipients)
