"""An aggregate's history: its transitions (``flowmart.transitions``) and its notes (``flowmart.notes``) read as
one list, oldest first — what the admin, the API and the pages show as "history"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models

from flowmart.notes import NoteLog
from flowmart.transitions import TransitionLog


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the history. A note reads as a step that stays where it is: its kind as ``transition``,
    the state it happened in as both ``from_state`` and ``to_state``, its text as ``reason``."""

    transition: str
    from_state: str
    to_state: str
    actor: str
    by_id: int | None
    by: Any  # the user, or None
    reason: str
    at: datetime
    is_note: bool = False
    columns: Mapping[str, Any] = field(default_factory=dict)  # the app's own columns (payments: amount_minor)


def _own_columns(row: models.Model, base: type[models.Model], aggregate_field: str) -> dict[str, Any]:
    """The columns a subclass adds to the kernel's log (its id and its aggregate's key aside)."""
    shared = {f.name for f in base._meta.fields} | {row._meta.pk.name, aggregate_field}
    return {f.name: getattr(row, f.attname) for f in row._meta.concrete_fields if f.name not in shared}


def history(instance: models.Model) -> list[HistoryEntry]:
    """``instance``'s transitions and notes (if its app keeps notes), oldest first; at the same instant a
    transition comes before a note."""
    log = instance.transitions  # related_name="transitions" on every transition log
    entries = [
        HistoryEntry(
            t.transition,
            t.from_state,
            t.to_state,
            t.actor,
            t.by_id,
            t.by,
            t.reason,
            t.at,
            columns=_own_columns(t, TransitionLog, log.field.name),
        )
        for t in log.select_related("by").order_by("at", "id")
    ]
    notes = getattr(instance, "notes", None)  # related_name="notes" on every note log
    if notes is not None and issubclass(notes.model, NoteLog):
        entries += [
            HistoryEntry(
                n.kind,
                n.state,
                n.state,
                n.actor,
                n.by_id,
                n.by,
                n.text,
                n.at,
                is_note=True,
                columns=_own_columns(n, NoteLog, notes.field.name),
            )
            for n in notes.select_related("by").order_by("at", "id")
        ]
    return sorted(entries, key=lambda e: (e.at, e.is_note))  # stable: each log keeps its own (at, id) order
