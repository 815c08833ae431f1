"""OrderNote becomes a subclass of the kernel's NoteLog: ``status`` is renamed ``state`` in place (rows kept)
and takes the kernel's column sizes."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0006_order_notes"),
    ]

    operations = [
        migrations.RenameField(model_name="ordernote", old_name="status", new_name="state"),
        migrations.AlterField(
            model_name="ordernote",
            name="state",
            field=models.CharField(help_text="the state it was in when this happened", max_length=32),
        ),
        migrations.AlterField(
            model_name="ordernote",
            name="actor",
            field=models.CharField(default="system", help_text="system, customer, staff or carrier", max_length=32),
        ),
        migrations.AlterField(
            model_name="ordernote",
            name="at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="ordernote",
            name="kind",
            field=models.CharField(
                choices=[("amend", "Amended"), ("refund_issue_resolved", "Refund issue resolved")], max_length=40
            ),
        ),
    ]
