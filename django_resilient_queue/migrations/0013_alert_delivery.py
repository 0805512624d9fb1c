"""Schema for issue 15 (alert outbox, cumulative counters)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("django_resilient_queue", "0012_admin_ops")]

    operations: list[migrations.operations.base.Operation] = []
