# A task with both a rate and a concurrency limit uses one key for both gates: the row
# is identified by (kind, key), not by the key alone.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("django_resilient_queue", "0004_notify_trigger"),
    ]

    operations = [
        migrations.AlterField(
            model_name="gate",
            name="key",
            field=models.CharField(max_length=255),
        ),
        migrations.AddConstraint(
            model_name="gate",
            constraint=models.UniqueConstraint(fields=("kind", "key"), name="drq_gate_kind_key"),
        ),
    ]
