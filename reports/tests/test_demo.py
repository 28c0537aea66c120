from io import StringIO

import pytest
from django.core.management import call_command

from outbox.models import OutboundEmail
from reports.models import AttendanceWarning, Standing


@pytest.mark.django_db
def test_the_demo_has_three_students_at_risk_in_hist210_and_sends_no_mail():
    call_command("seed_demo", stdout=StringIO())
    below = Standing.objects.filter(course__code="HIST210", below=True)
    assert below.count() == 3
    assert not AttendanceWarning.objects.exists()
    assert not OutboundEmail.objects.filter(key__startswith="attendance-warning").exists()
    call_command("seed_demo", stdout=StringIO())
    assert Standing.objects.filter(course__code="HIST210", below=True).count() == 3
    assert Standing.objects.filter(course__code="HIST210").count() == 20
