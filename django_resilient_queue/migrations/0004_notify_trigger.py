"""PostgreSQL: wake idle workers from a trigger on INSERT (nothing on other databases)."""

from django.db import migrations


def create_trigger(apps, schema_editor):
    from django_resilient_queue.db import dialect_for

    dialect = dialect_for(schema_editor.connection)
    if not dialect.notifies_on_insert:
        return
    table = schema_editor.quote_name(apps.get_model("django_resilient_queue", "Job")._meta.db_table)
    for sql in dialect.create_notify_trigger_sql(table):
        schema_editor.execute(sql)


def drop_trigger(apps, schema_editor):
    from django_resilient_queue.db import dialect_for

    dialect = dialect_for(schema_editor.connection)
    if not dialect.notifies_on_insert:
        return
    table = schema_editor.quote_name(apps.get_model("django_resilient_queue", "Job")._meta.db_table)
    for sql in dialect.drop_notify_trigger_sql(table):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("django_resilient_queue", "0003_protection")]

    operations = [migrations.RunPython(create_trigger, drop_trigger, atomic=False, elidable=False)]
