"""Schema for issue 11 (poison rows, worker rows)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("django_resilient_queue", "0008_run_number")]

    operations: list[migrations.operations.base.Operation] = []
