"""The admin side of staff actions: object buttons, bulk actions and the action URL, from the declarations.

A ``ModelAdmin`` lists ``StaffActionsAdmin`` first among its bases and gets, for every action declared on its
model (``flowmart.staff.actions``): a panel of buttons under the change form (each with its form, only those
the user's role allows and the object's state offers), ``<pk>/staff-action/<verb>/`` (POST runs it; a user
without the permission gets 403 even if they post the URL by hand), and, for ``bulk=True`` actions, an entry
in the list's action menu. Everything runs through ``staff_action_perform``.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from flowmart.errors import FlowMartError
from flowmart.staff.actions import (
    StaffAction,
    StaffActionInputInvalid,
    request_client_ip,
    staff_action_perform,
    staff_actions_for,
)


class StaffActionsAdmin:
    change_form_template = "admin/staff/change_form.html"

    def _staff_url_name(self, suffix: str) -> str:
        return f"{self.model._meta.app_label}_{self.model._meta.model_name}_{suffix}"

    def _staff_action(self, verb: str) -> StaffAction | None:
        return next((a for a in staff_actions_for(self.model) if a.verb == verb), None)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/staff-action/<str:verb>/",
                self.admin_site.admin_view(self.staff_action_view),
                name=self._staff_url_name("staff_action"),
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["staff_action_buttons"] = [
                {
                    "action": action,
                    "url": reverse(f"admin:{self._staff_url_name('staff_action')}", args=[obj.pk, action.verb]),
                    "form": action.form(initial=action.initial(obj) if action.initial else None, prefix=None)
                    if action.form
                    else None,
                }
                for action in staff_actions_for(self.model)
                if action.offered_to(request.user, obj)
            ]
            context["staff_actions_declared"] = bool(staff_actions_for(self.model))
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def staff_action_view(self, request, object_id: str, verb: str):
        action = self._staff_action(verb)
        if action is None or not action.allowed_for(request.user):
            raise PermissionDenied
        obj = get_object_or_404(self.model._default_manager.all(), pk=object_id)
        back = reverse(f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_change", args=[obj.pk])
        if request.method != "POST":
            if action.form is None:
                return HttpResponseNotAllowed(["POST"])
            return self._staff_action_form_page(request, action, obj, action.form(initial=_initial(action, obj)))
        try:
            result = staff_action_perform(
                action=action,
                obj=obj,
                by=request.user,
                source="admin",
                ip=request_client_ip(request),
                reason=request.POST.get("action_reason", ""),
                data=request.POST,
            )
        except StaffActionInputInvalid:
            form = action.form(data=request.POST)
            form.is_valid()
            return self._staff_action_form_page(request, action, obj, form, status=400)
        except FlowMartError as exc:
            self.message_user(request, f"{action.label}: {exc.detail}", messages.ERROR)
        else:
            done = action.done_message(result) if action.done_message else f"{obj} — {action.label}: done."
            self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(back)

    def _staff_action_form_page(self, request, action, obj, form, status=200):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{action.label} — {obj}",
            "original": obj,
            "action": action,
            "form": form,
        }
        return TemplateResponse(request, "admin/staff/action_form.html", context, status=status)

    def get_actions(self, request):
        actions = super().get_actions(request)
        for action in staff_actions_for(self.model):
            if action.bulk and action.allowed_for(request.user):
                name = f"staff_{action.verb}"
                actions[name] = (_bulk_runner(action), name, f"{action.label} (selected)")
        return actions


def _initial(action: StaffAction, obj) -> dict | None:
    return action.initial(obj) if action.initial else None


def _bulk_runner(action: StaffAction):
    def run(modeladmin, request, queryset):
        done = 0
        for obj in queryset:
            try:
                staff_action_perform(
                    action=action,
                    obj=obj,
                    by=request.user,
                    source="bulk",
                    ip=request_client_ip(request),
                    reason=action.default_reason,
                    data={},
                )
            except FlowMartError as exc:
                modeladmin.message_user(request, f"{obj}: {exc.detail}", messages.ERROR)
            else:
                done += 1
        if done:
            modeladmin.message_user(request, f"{action.label}: {done} done.", messages.SUCCESS)

    return run
