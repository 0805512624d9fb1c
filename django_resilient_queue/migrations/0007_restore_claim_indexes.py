"""Restore the claim and reaper indexes where a table rebuild dropped them.

SQLite cannot alter a column in place, so Django rebuilds the job table for such
migrations (0003 and 0005 among them) and recreates only the indexes it knows of:
the partial indexes that 0002 created with SQL were lost there, and every claim
sorted all queued rows. The CREATE statements use IF NOT EXISTS, so databases
that kept them are left as they are.
"""

from django.db import migrations


def restore_indexes(apps, schema_editor):
    from django_resilient_queue.db import dialect_for

    dialect = dialect_for(schema_editor.connection)
    if dialect.vendor != "sqlite":
        return  # PostgreSQL alters tables in place; MariaDB's indexes are not partial
    table = schema_editor.quote_name(apps.get_model("django_resilient_queue", "Job")._meta.db_table)
    for sql in dialect.create_indexes_sql(table):
        schema_editor.execute(sql.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))


class Migration(migrations.Migration):
    dependencies = [("django_resilient_queue", "0006_attempt_job_index")]

    operations = [migrations.RunPython(restore_indexes, migrations.RunPython.noop, elidable=False)]
