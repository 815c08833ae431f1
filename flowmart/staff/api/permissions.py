"""The staff API's permission: the one a staff action declares, or a view permission for reads."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from flowmart.staff.actions import staff_action_get


class StaffActionPermission(BasePermission):
    """403 for a customer, and for staff whose role lacks the permission (401 anonymous).

    The view names what it needs: ``staff_action`` (a declared action's name: its permission) or
    ``staff_permission`` (``"<app_label>.<codename>"``, for lists and details).
    """

    staff_only = True  # the API schema tags its operations "staff" and documents 401/403

    message = "Your staff role does not allow this."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.is_active and user.is_staff):
            self.message = "Staff only."
            return False
        action_name = getattr(view, "staff_action", "")
        if action_name:
            return staff_action_get(action_name).allowed_for(user)
        return user.has_perm(view.staff_permission)
