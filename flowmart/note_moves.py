"""Data-migration steps shared by the apps: transition-log rows that changed nothing (``from_state ==
to_state``: an amendment, a refund request, a plan change) move into the app's note log, and back.

They work on the historical models a migration passes (``apps.get_model``), never on the current ones.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import F


def transitions_to_notes(
    apps,
    app_label: str,
    *,
    transitions: str,
    notes: str,
    aggregate: str,
    kind_of: Callable[[object], str | None],
    columns: tuple[str, ...] = (),
) -> None:
    """Move each same-state row of ``transitions`` that ``kind_of`` names (``None``: leave it) into ``notes``.

    ``aggregate`` is the name of both logs' foreign key; ``columns`` are extra columns both logs share
    (payments: ``amount_minor``). The reason becomes the note's text; who, when and the state are kept.
    """
    log = apps.get_model(app_label, transitions)
    note = apps.get_model(app_label, notes)
    key = f"{aggregate}_id"
    moved, rows = [], []
    for t in log.objects.filter(from_state=F("to_state")).order_by("id"):
        kind = kind_of(t)
        if kind is None:
            continue
        moved.append(t.pk)
        rows.append(
            note(
                **{key: getattr(t, key)},
                kind=kind,
                state=t.to_state,
                actor=t.actor,
                by_id=t.by_id,
                text=t.reason,
                at=t.at,
                **{c: getattr(t, c) for c in columns},
            )
        )
    note.objects.bulk_create(rows)
    log.objects.filter(pk__in=moved).delete()


def notes_to_transitions(
    apps,
    app_label: str,
    *,
    transitions: str,
    notes: str,
    aggregate: str,
    transition_of: Callable[[object], str],
    columns: tuple[str, ...] = (),
) -> None:
    """The reverse: every note of ``notes`` becomes a same-state row of ``transitions`` again, named
    ``transition_of(note)``."""
    log = apps.get_model(app_label, transitions)
    note = apps.get_model(app_label, notes)
    key = f"{aggregate}_id"
    log.objects.bulk_create(
        log(
            **{key: getattr(n, key)},
            transition=transition_of(n),
            from_state=n.state,
            to_state=n.state,
            actor=n.actor,
            by_id=n.by_id,
            reason=n.text,
            at=n.at,
            **{c: getattr(n, c) for c in columns},
        )
        for n in note.objects.order_by("id")
    )
    note.objects.all().delete()
