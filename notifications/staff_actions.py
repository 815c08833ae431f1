"""What staff may do to a sent message (docs/staff.md §Staff actions): resend it, retry a failed one."""

from __future__ import annotations

from flowmart.staff.actions import StaffAction, staff_action_declare
from notifications import services
from notifications.models import Notification

AUDIT_FIELDS = ("status", "attempts")

RESEND = staff_action_declare(
    StaffAction(
        name="notifications.notification.resend",
        label="Resend",
        permission="notifications.resend_notification",
        model=Notification,
        audit_fields=AUDIT_FIELDS,
        bulk=True,
        run=lambda n, *, by, reason, data: services.notification_resend(notification=n, by=by),
    )
)
RETRY_FAILED = staff_action_declare(
    StaffAction(
        name="notifications.notification.retry_failed",
        label="Retry failed message",
        permission="notifications.resend_notification",
        model=Notification,
        audit_fields=AUDIT_FIELDS,
        offered=lambda n: n.status == Notification.Status.FAILED,
        bulk=True,
        run=lambda n, *, by, reason, data: services.notifications_retry_failed(notification_ids=[n.pk], by=by),
    )
)
