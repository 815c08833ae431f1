from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0004_reservation_notes"),
    ]

    # Every read that needs an order says so (docs/architecture.md); the models declare none.
    operations = [
        *(
            migrations.AlterModelOptions(name=name, options={})
            for name in (
                "product",
                "productimage",
                "reservation",
                "reservationallocation",
                "reservationtransition",
                "stockmovement",
                "variant",
                "warehouse",
            )
        ),
        migrations.AlterModelOptions(name="category", options={"verbose_name_plural": "categories"}),
    ]
