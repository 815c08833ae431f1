from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0007_order_note_is_a_note_log"),
    ]

    # Every read that needs an order says so (docs/architecture.md); the models declare none.
    operations = [
        *(
            migrations.AlterModelOptions(name=name, options={})
            for name in ("order", "orderpayment", "orderrefund", "ordertransition", "sagastep")
        ),
    ]
