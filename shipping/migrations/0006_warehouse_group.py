"""The "Warehouse" group: the logistics team. Its active members are emailed when a delivery fails
(notifications' staff alerts) and may work shipments and returns in the admin."""

from django.db import migrations

PERMISSIONS = [
    ("shipping", "view_shipment"),
    ("shipping", "change_shipment"),
    ("shipping", "view_deliveryfailure"),
    ("shipping", "view_trackingevent"),
    ("shipping", "view_returnrequest"),
    ("shipping", "change_returnrequest"),
]


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Warehouse")
    for app_label, codename in PERMISSIONS:
        permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if permission is not None:
            group.permissions.add(permission)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Warehouse").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("shipping", "0005_delivery_failure"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
