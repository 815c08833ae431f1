from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_one_transition_log"),
    ]

    # Every read that needs an order says so (docs/architecture.md); the models declare none.
    operations = [
        *(
            migrations.AlterModelOptions(name=name, options={})
            for name in ("device", "notification", "notificationtemplate", "notificationtransition", "sandboxmessage")
        ),
        migrations.AlterModelOptions(name="feedback", options={"verbose_name_plural": "feedback"}),
    ]
