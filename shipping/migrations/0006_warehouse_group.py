"""The "Warehouse" group: the logistics team. Its active members are emailed when a delivery fails
(notifications' staff alerts) and may work shipments and returns in the admin."""

from django.db import migrations

from flowmart.staff_group_migration import staff_group_migration

PERMISSIONS = [
    ("shipping", "view_shipment"),
    ("shipping", "change_shipment"),
    ("shipping", "view_deliveryfailure"),
    ("shipping", "view_trackingevent"),
    ("shipping", "view_returnrequest"),
    ("shipping", "change_returnrequest"),
]


create_group, remove_group = staff_group_migration(name="Warehouse", permissions=PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("shipping", "0005_delivery_failure"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
