from rest_framework.permissions import BasePermission


class IsStaff(BasePermission):
    """Staff-only endpoints: authenticated customers get 403, anonymous callers 401."""

    staff_only = True  # the API schema tags its operations "staff" and documents 401/403

    message = "Staff only."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
