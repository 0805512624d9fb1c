"""Schema for issue 16 (cron schedules)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("django_resilient_queue", "0013_alert_delivery")]

    operations: list[migrations.operations.base.Operation] = []
