"""The "Finance" group: its members approve or reject refunds above the approval threshold."""

from django.db import migrations

from flowmart.staff_group_migration import staff_group_migration

PERMISSIONS = [
    ("payments", "view_payment"),
    ("payments", "view_refund"),
    ("payments", "change_refund"),
    ("payments", "view_pendingrefund"),
    ("payments", "change_pendingrefund"),
    ("payments", "view_dispute"),
    ("payments", "view_reconciliationreport"),
]


create_group, remove_group = staff_group_migration(name="Finance", permissions=PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
