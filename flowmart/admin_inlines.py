"""Read-only inlines for the staff screens: history is shown, never edited."""

from __future__ import annotations

from django.contrib import admin


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TransitionLogInline(ReadOnlyInline):
    """An aggregate's transition log (``flowmart.transitions.TransitionLog``); subclasses set ``model``."""

    ordering = ["at", "id"]

    verbose_name_plural = "transitions (who, when, from, to, why)"
    fields = ["at", "transition", "from_state", "to_state", "actor", "by", "reason"]
    readonly_fields = fields


class NoteLogInline(ReadOnlyInline):
    """An aggregate's notes (``flowmart.notes.NoteLog``), shown next to its transitions; subclasses set ``model``."""

    verbose_name_plural = "notes (what happened without a change of state)"
    fields = ["at", "kind", "state", "actor", "by", "text"]
    readonly_fields = fields
    ordering = ["at", "id"]
