"""On PostgreSQL the database refuses two meetings of one course at the same time.

An exclusion constraint: same course, same weekday, validity ranges that share
a day, and times of day that overlap (back-to-back classes are fine: the time
ranges are half-open). timetable/meetings.py checks the same rule first, with
a message for people, under a lock on the course row; this is the backstop.
SQLite (the demo) runs one writer at a time, so the service's check holds there.
btree_gist lets a GiST index compare the plain columns with `=`; it is a
trusted extension, so the database's owner may create it.
"""

from django.db import migrations

CONSTRAINT = "meeting_no_overlap_in_course"

CREATE = f"""
ALTER TABLE timetable_meeting ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist (
    course_id WITH =,
    weekday WITH =,
    daterange(valid_from, valid_to, '[]') WITH &&,
    tsrange(
        DATE '2000-01-03' + start_time,
        DATE '2000-01-03' + start_time + duration_minutes * INTERVAL '1 minute'
    ) WITH &&
)
"""


def create_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(CREATE)


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE timetable_meeting DROP CONSTRAINT {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [("timetable", "0001_timetable")]

    operations = [migrations.RunPython(create_constraint, drop_constraint)]
