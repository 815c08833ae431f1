"""The four staff roles (docs/staff.md §Roles): Support, Warehouse, Finance, Manager.

Warehouse (shipping 0006) and Finance (payments 0002) exist already: their groups are extended, not made twice
(their earlier permissions are listed again, so each role is complete here).
Manager holds every permission there is at this migration; a later migration that declares a new permission
adds it to Manager (and to the role that needs it) itself.
"""

from django.db import migrations

from flowmart.staff_group_migration import staff_group_migration

SUPPORT = [
    ("orders", "view_order"),
    ("orders", "view_orderneedingattention"),
    ("orders", "hold_order"),
    ("orders", "cancel_order"),
    ("notifications", "view_notification"),
    ("notifications", "resend_notification"),
    ("shipping", "view_returnrequest"),
    ("shipping", "decide_return"),
    ("shipping", "view_shipment"),
    ("shipping", "view_trackingevent"),
    ("payments", "view_payment"),
    ("payments", "view_refund"),
    ("subscriptions", "view_subscription"),
]

WAREHOUSE = [
    ("orders", "view_order"),
    ("inventory", "view_product"),
    ("inventory", "view_variant"),
    ("inventory", "view_warehouse"),
    ("inventory", "view_stock"),
    ("inventory", "change_stock"),
    ("inventory", "adjust_stock"),
    ("inventory", "view_stockmovement"),
    ("inventory", "view_lowstockitem"),
    ("inventory", "view_reservation"),
    ("inventory", "release_reservation"),
    ("shipping", "view_shipment"),
    ("shipping", "change_shipment"),
    ("shipping", "view_deliveryfailure"),
    ("shipping", "view_trackingevent"),
    ("shipping", "view_returnrequest"),
    ("shipping", "change_returnrequest"),
    ("shipping", "dispatch_shipment"),
    ("shipping", "cancel_shipment"),
    ("shipping", "receive_return"),
]

FINANCE = [
    ("orders", "view_order"),
    ("orders", "view_orderneedingattention"),
    ("orders", "resolve_refund_issue"),
    ("payments", "capture_payment"),
    ("payments", "void_payment"),
    ("payments", "refund_payment"),
    ("payments", "approve_refund"),
    ("payments", "view_pendingrefund"),
    ("payments", "view_refund"),
    ("payments", "view_payment"),
    ("payments", "view_dispute"),
    ("payments", "view_reconciliationreport"),
    ("payments", "view_reconciliationmismatch"),
    ("payments", "view_strayauthorization"),
    ("payments", "view_webhookevent"),
    ("subscriptions", "view_invoice"),
    ("subscriptions", "view_dunninginvoice"),
    ("subscriptions", "view_subscription"),
    ("staff", "view_auditentry"),
]

ROLES = {"Support": SUPPORT, "Warehouse": WAREHOUSE, "Finance": FINANCE}


def create_roles(apps, schema_editor) -> None:
    for name, permissions in ROLES.items():
        create_group, _ = staff_group_migration(name=name, permissions=permissions)
        create_group(apps, schema_editor)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    manager, _ = Group.objects.get_or_create(name="Manager")
    manager.permissions.add(*Permission.objects.all())


def remove_roles(apps, schema_editor) -> None:
    # Warehouse and Finance belong to earlier migrations: only the roles made here go.
    apps.get_model("auth", "Group").objects.filter(name__in=["Support", "Manager"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0001_audit_log"),
        ("users", "0004_audit_history"),
        ("inventory", "0008_audit_history_and_staff_permissions"),
        ("payments", "0008_audit_history_and_staff_permissions"),
        ("shipping", "0009_audit_history_and_staff_permissions"),
        ("subscriptions", "0007_audit_history_and_staff_permissions"),
        ("orders", "0016_audit_history_and_staff_permissions"),
        ("notifications", "0005_audit_history_and_staff_permissions"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
