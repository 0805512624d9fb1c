"""The claim and reaper indexes, per database (partial where the database allows it)."""

from django.db import migrations


def create_indexes(apps, schema_editor):
    from django_resilient_queue.db import dialect_for

    table = schema_editor.quote_name(apps.get_model("django_resilient_queue", "Job")._meta.db_table)
    for sql in dialect_for(schema_editor.connection).create_indexes_sql(table):
        schema_editor.execute(sql)


def drop_indexes(apps, schema_editor):
    from django_resilient_queue.db import dialect_for

    table = schema_editor.quote_name(apps.get_model("django_resilient_queue", "Job")._meta.db_table)
    for sql in dialect_for(schema_editor.connection).drop_indexes_sql(table):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("django_resilient_queue", "0001_initial")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, atomic=False, elidable=False)]
