from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0004_payment_notes"),
    ]

    # Every read that needs an order says so (docs/architecture.md); the models declare none.
    operations = [
        *(
            migrations.AlterModelOptions(name=name, options={})
            for name in (
                "dispute",
                "payment",
                "paymenttransition",
                "reconciliationmismatch",
                "reconciliationreport",
                "refund",
                "sandboxcharge",
                "savedpaymentmethod",
                "webhookevent",
            )
        ),
    ]
