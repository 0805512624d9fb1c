# Gate rows are identified by (kind, key): a task with both a rate and a concurrency
# limit uses one key for both gates. Job.holds_place marks the run that holds a
# concurrency place, so that a place is given back exactly once however the run ends.
# Job.unique_lock is unique through a constraint: unique=True also gave it, on
# PostgreSQL, a pattern-matching index that no query uses and every write maintained.

from django.db import migrations, models


def running_jobs_keep_their_places(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Before this, every running job with a concurrency key held a place."""
    Job = apps.get_model("django_resilient_queue", "Job")
    Job.objects.using(schema_editor.connection.alias).filter(
        status="running", concurrency_key__isnull=False
    ).update(holds_place=True)


class Migration(migrations.Migration):
    dependencies = [
        ("django_resilient_queue", "0004_notify_trigger"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="holds_place",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AlterField(
            model_name="gate",
            name="key",
            field=models.CharField(max_length=255),
        ),
        migrations.AddConstraint(
            model_name="gate",
            constraint=models.UniqueConstraint(fields=("kind", "key"), name="drq_gate_kind_key"),
        ),
        migrations.RunPython(running_jobs_keep_their_places, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="job",
            name="unique_lock",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True),
        ),
        migrations.AddConstraint(
            model_name="job",
            constraint=models.UniqueConstraint(fields=("unique_lock",), name="drq_job_unique_lock"),
        ),
    ]
