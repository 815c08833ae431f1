from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0005_subscription_notes"),
    ]

    # Every read that needs an order says so (docs/architecture.md); the models declare none.
    operations = [
        *(
            migrations.AlterModelOptions(name=name, options={})
            for name in ("invoice", "invoicetransition", "plan", "subscription", "subscriptiontransition", "tier")
        ),
    ]
