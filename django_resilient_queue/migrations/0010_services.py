"""Schema for issue 12 (services, queue pauses)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("django_resilient_queue", "0009_row_safety")]

    operations: list[migrations.operations.base.Operation] = []
