"""The data migration that creates a staff group with its permissions (the ``*_group`` migrations: Finance,
Warehouse). Permissions are made first, as ``post_migrate`` would only make them after the last migration.

Frozen: migrations import this module, so what it does must never change (a later change to a group gets a
migration of its own).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

RunPythonCode = Callable[[object, object], None]


def staff_group_migration(*, name: str, permissions: Sequence[tuple[str, str]]) -> tuple[RunPythonCode, RunPythonCode]:
    """The ``RunPython`` pair ``(create_group, remove_group)`` for the group ``name`` holding ``permissions``
    (``(app_label, codename)``; one that does not exist yet is skipped). Creating twice changes nothing."""

    def create_group(apps, schema_editor) -> None:
        from django.contrib.auth.management import create_permissions

        for app_config in apps.get_app_configs():
            app_config.models_module = True
            create_permissions(app_config, apps=apps, verbosity=0)
            app_config.models_module = None

        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in permissions:
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                group.permissions.add(permission)

    def remove_group(apps, schema_editor) -> None:
        apps.get_model("auth", "Group").objects.filter(name=name).delete()

    return create_group, remove_group
