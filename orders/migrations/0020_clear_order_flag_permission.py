"""Clearing an order's flag (an expired authorization, a parcel that left anyway, an authorization that could not
be renewed) is Support's work: they contact the customer, then clear it. It was Finance's
``resolve_refund_issue``, which now covers only refunds' flags (money). The new permission goes to Support and,
as every permission declared after the roles migration, to Manager (docs/staff.md §Roles)."""

from django.db import migrations

from flowmart.staff_group_migration import staff_group_migration

GROUPS = ("Support", "Manager")

grants = [staff_group_migration(name=name, permissions=[("orders", "clear_order_flag")])[0] for name in GROUPS]


def grant(apps, schema_editor):
    for extend_group in grants:
        extend_group(apps, schema_editor)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.filter(content_type__app_label="orders", codename="clear_order_flag").first()
    if permission is not None:
        for group in Group.objects.filter(name__in=GROUPS):
            group.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [("orders", "0019_order_attention_index"), ("staff", "0002_staff_roles")]

    operations = [
        migrations.AlterModelOptions(
            name="order",
            options={
                "permissions": [
                    ("hold_order", "Put orders on hold and release them"),
                    ("cancel_order", "Cancel orders before dispatch (compensate)"),
                    ("cancel_dispatched_order", "Cancel orders after dispatch, before delivery"),
                    ("repair_order", "Resume stuck sagas and retry settlement"),
                    ("resolve_refund_issue", "Clear a rejected or failed refund's flag"),
                    ("clear_order_flag", "Clear an order's expired-authorization or parcel flag"),
                ]
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
