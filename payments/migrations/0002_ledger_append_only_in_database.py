"""On PostgreSQL the database itself refuses edits and deletes of ledger rows.

The model, the queryset and the admin already refuse them in Python; the
triggers also stop raw SQL and any other client. SQLite (the demo) is left
alone: Django's test flush there is DELETE FROM, which the triggers would block.
"""

from django.db import migrations

# (table, the user column Django sets to NULL when that user is deleted)
LEDGER_TABLES = [
    ("payments_charge", "created_by_id"),
    ("payments_payment", "recorded_by_id"),
    ("payments_paymentreversal", "reversed_by_id"),
]

CREATE_FUNCTION = """
CREATE FUNCTION payments_refuse_ledger_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- on_delete=SET_NULL: deleting a user clears the column named by the
    -- trigger argument. That UPDATE is allowed if it changes nothing else.
    IF TG_OP = 'UPDATE'
       AND (to_jsonb(NEW) ->> TG_ARGV[0]) IS NULL
       AND (to_jsonb(NEW) - TG_ARGV[0]) = (to_jsonb(OLD) - TG_ARGV[0]) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'restrict_violation',
        MESSAGE = TG_OP || ' of ' || TG_TABLE_NAME || ' refused: a ledger entry is never edited or deleted;'
            || ' record a reversal instead.';
END;
$$
"""

CREATE_TRIGGER = """
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION payments_refuse_ledger_change('{column}')
"""

DROP_TRIGGER = "DROP TRIGGER {table}_append_only ON {table}"
DROP_FUNCTION = "DROP FUNCTION payments_refuse_ledger_change()"


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION)
    for table, column in LEDGER_TABLES:
        schema_editor.execute(CREATE_TRIGGER.format(table=table, column=column))


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _column in LEDGER_TABLES:
        schema_editor.execute(DROP_TRIGGER.format(table=table))
    schema_editor.execute(DROP_FUNCTION)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_triggers, drop_triggers),
    ]
