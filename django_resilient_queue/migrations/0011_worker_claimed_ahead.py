"""Worker.claimed_ahead: what a silent worker had claimed but not started (issue 10)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("django_resilient_queue", "0010_14_dashboard"),
    ]

    operations = [
        migrations.AddField(
            model_name="worker",
            name="claimed_ahead",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
