"""Schema for issue 14 (admin actions, dashboard samples, queue pauses)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("django_resilient_queue", "0011_job_options")]

    operations: list[migrations.operations.base.Operation] = []
