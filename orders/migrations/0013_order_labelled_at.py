from django.db import migrations, models
from django.db.models import F


def labelled_orders_remember_it(apps, schema_editor):
    """Orders that were labelled before the column existed: the first start_fulfilment's time."""
    Order = apps.get_model("orders", "Order")
    Transition = apps.get_model("orders", "OrderTransition")
    for row in (
        Transition.objects.filter(transition="start_fulfilment").order_by("order_id", "at").values("order_id", "at")
    ):
        Order.objects.filter(pk=row["order_id"], labelled_at__isnull=True).update(labelled_at=row["at"])
    Order.objects.filter(
        labelled_at__isnull=True, status__in=["fulfilling", "shipped", "delivered", "completed"]
    ).update(labelled_at=F("updated_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0012_order_disputes_and_gateway_refunds"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="labelled_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(labelled_orders_remember_it, migrations.RunPython.noop),
    ]
