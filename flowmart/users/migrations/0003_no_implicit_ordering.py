from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0002_site_name"),
    ]

    # Every read that needs an order says so (docs/architecture.md); the models declare none.
    operations = [
        *(migrations.AlterModelOptions(name=name, options={}) for name in ("user",)),
        migrations.AlterModelOptions(name="address", options={"verbose_name_plural": "addresses"}),
    ]
