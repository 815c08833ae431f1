"""Migration operations for the kernel's two logs: bring an app's transition table to the ``TransitionLog``
shape keeping every row (the ``*_one_transition_log`` migrations), and create an app's ``NoteLog`` table
(the ``*_notes`` migrations). Moving rows between the two is ``flowmart.note_moves``.

Frozen: migrations import this module, so what it produces must never change (a later change to either
log gets a migration of its own, written out as usual).
"""

from __future__ import annotations

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def _field(name: str) -> models.Field:
    return {
        "state": lambda: models.CharField(help_text="the state it was in when this happened", max_length=32),
        "text": lambda: models.CharField(blank=True, max_length=500),
        "transition": lambda: models.CharField(blank=True, help_text="the transition method's name", max_length=40),
        "from_state": lambda: models.CharField(max_length=32),
        "to_state": lambda: models.CharField(max_length=32),
        "actor": lambda: models.CharField(
            default="system", help_text="system, customer, staff or carrier", max_length=32
        ),
        "by": lambda: models.ForeignKey(
            blank=True,
            null=True,
            on_delete=django.db.models.deletion.SET_NULL,
            related_name="+",
            to=settings.AUTH_USER_MODEL,
        ),
        "reason": lambda: models.CharField(blank=True, max_length=500),
        "at": lambda: models.DateTimeField(db_index=True, default=django.utils.timezone.now),
    }[name]()


def to_transition_log(
    model_name: str,
    *,
    renames: dict[str, str] | None = None,
    add: tuple[str, ...] = (),
    alter: tuple[str, ...] = (),
    ordered: bool = False,
) -> list[migrations.operations.base.Operation]:
    """Rename old columns (``{"from_status": "from_state"}``), set the kernel's ordering if the table had its
    own, add the columns it lacked and give the others the kernel's definition."""
    operations: list = [
        migrations.RenameField(model_name=model_name, old_name=old, new_name=new)
        for old, new in (renames or {}).items()
    ]
    if ordered:
        operations.append(migrations.AlterModelOptions(name=model_name, options={"ordering": ["at", "id"]}))
    operations += [migrations.AddField(model_name=model_name, name=name, field=_field(name)) for name in add]
    operations += [migrations.AlterField(model_name=model_name, name=name, field=_field(name)) for name in alter]
    return operations


def actor_from_by(app_label: str, *model_names: str) -> migrations.RunPython:
    """Rows written before the log had an actor: say who acted from who they were (no user: system)."""

    def forwards(apps, schema_editor):
        for name in model_names:
            log = apps.get_model(app_label, name)
            log.objects.filter(by__isnull=False, by__is_staff=True).update(actor="staff")
            log.objects.filter(by__isnull=False, by__is_staff=False).update(actor="customer")

    return migrations.RunPython(forwards, migrations.RunPython.noop)


def create_note_log(
    name: str, *, aggregate: str, to: str, kinds: list[tuple[str, str]], extra: tuple = ()
) -> migrations.CreateModel:
    """The table of an app's ``NoteLog`` subclass: ``aggregate`` is its foreign key to ``to`` (``"app.model"``),
    ``kinds`` the choices of ``kind``, ``extra`` any columns of the app's own as ``(name, field)``."""
    return migrations.CreateModel(
        name=name,
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("state", _field("state")),
            ("actor", _field("actor")),
            ("text", _field("text")),
            ("at", _field("at")),
            ("kind", models.CharField(choices=kinds, max_length=40)),
            *extra,
            ("by", _field("by")),
            (aggregate, models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="notes", to=to)),
        ],
        options={"abstract": False},
    )
