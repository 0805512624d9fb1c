"""Schema for issue 13 (expiry, stall timeout, checkpoints)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("django_resilient_queue", "0010_services")]

    operations: list[migrations.operations.base.Operation] = []
