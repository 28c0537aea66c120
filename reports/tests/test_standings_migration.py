"""The migration after the standings table fills it from the registers already written."""

import pytest

from outbox.models import OutboundEmail
from reports.models import AttendanceWarning, Standing
from reports.standings import course_counts
from reports.tests.builders import write_register

BEFORE = [("reports", "0001_initial")]
AFTER = [("reports", "0002_fill_standings")]


@pytest.mark.django_db(transaction=True)
def test_registers_written_before_the_standings_get_theirs_without_mail(course, students, migrator):
    ada, bob, cy = students[:3]
    for status in ("absent", "absent", "present", "absent", "excused", "absent"):
        write_register(course, {ada: status, bob: "present", cy: "late"}, hook=False)
    executor = migrator
    executor.migrate(BEFORE)
    Standing.objects.all().delete()
    executor.loader.build_graph()
    executor.migrate(AFTER)

    rows = {s.student_id: s for s in Standing.objects.filter(course=course)}
    assert set(rows) == {ada.pk, bob.pk, cy.pk}
    ada_row = rows[ada.pk]
    assert (ada_row.held, ada_row.present, ada_row.absent, ada_row.excused) == (6, 1, 4, 1)
    assert str(ada_row.rate) == "0.2000" and ada_row.below and ada_row.crossings == 0
    assert not rows[bob.pk].below and str(rows[cy.pk].rate) == "1.0000"
    # The same counts the register hook keeps.
    assert {k: v.held for k, v in course_counts(course_id=course.pk).items()} == {
        k: v.held for k, v in rows.items()
    }
    assert not AttendanceWarning.objects.exists() and not OutboundEmail.objects.exists()
