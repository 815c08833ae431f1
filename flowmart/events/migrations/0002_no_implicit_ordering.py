from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0001_initial"),
    ]

    # Every read that needs an order says so (docs/architecture.md); the models declare none.
    operations = [
        *(migrations.AlterModelOptions(name=name, options={}) for name in ("outboxevent",)),
        migrations.AlterModelOptions(name="delivery", options={"verbose_name_plural": "deliveries"}),
    ]
