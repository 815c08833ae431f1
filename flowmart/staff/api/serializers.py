"""Staff API shapes of the kernel: the audit log's rows, and a staff action's input read off its form."""

from __future__ import annotations

from django import forms
from rest_framework import serializers

from flowmart.staff.actions import StaffAction
from flowmart.staff.models import AuditEntry


class AuditEntryOutSerializer(serializers.ModelSerializer):
    """A line of the audit log with its outcome (``flowmart.staff.selectors.audit_log`` annotates it)."""

    after = serializers.JSONField(read_only=True)
    outcome = serializers.CharField(read_only=True)
    error_code = serializers.CharField(read_only=True)
    error_detail = serializers.CharField(read_only=True)

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "kind",
            "at",
            "actor_email",
            "action",
            "label",
            "object_type",
            "object_id",
            "object_repr",
            "before",
            "after",
            "data",
            "reason",
            "ip",
            "source",
            "url",
            "outcome",
            "error_code",
            "error_detail",
        ]
        read_only_fields = fields


def _field(form_field: forms.Field) -> serializers.Field:
    common = {"required": form_field.required, "help_text": str(form_field.help_text or "") or None}
    if isinstance(form_field, forms.IntegerField):
        return serializers.IntegerField(min_value=form_field.min_value, max_value=form_field.max_value, **common)
    if isinstance(form_field, forms.ChoiceField):
        return serializers.ChoiceField(choices=form_field.choices, **common)
    if isinstance(form_field, forms.JSONField):
        return serializers.JSONField(**common)
    if isinstance(form_field, forms.BooleanField):
        return serializers.BooleanField(**common)
    return serializers.CharField(max_length=getattr(form_field, "max_length", None), allow_blank=True, **common)


def action_input_serializer(action: StaffAction, *, overrides: dict | None = None) -> type[serializers.Serializer]:
    """The JSON body of ``action``'s endpoint, for the schema: its form's fields (the form validates it)."""
    fields = {name: _field(f) for name, f in action.form.base_fields.items()} if action.form else {}
    fields.update(overrides or {})
    name = "Staff" + "".join(p.title() for p in action.name.replace("_", ".").split(".")) + "In"
    return type(name, (serializers.Serializer,), fields)
