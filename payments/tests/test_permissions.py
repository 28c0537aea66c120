import pytest
from django.contrib.auth.models import AnonymousUser, Permission

from payments.permissions import (
    FEES_OFFICE_GROUP,
    can_record_payments,
    can_view_fees,
    can_void_payments,
    ensure_fees_office_group,
)


@pytest.mark.django_db
def test_staff_may_see_record_and_void(staff_user):
    assert can_view_fees(staff_user) and can_record_payments(staff_user)
    assert can_void_payments(staff_user)


@pytest.mark.django_db
def test_the_fees_office_may_see_record_and_void(fees_officer):
    assert can_view_fees(fees_officer) and can_record_payments(fees_officer)
    assert can_void_payments(fees_officer)


@pytest.mark.django_db
def test_a_lecturer_has_no_fee_access_until_granted(lecturer, make_user):
    assert not can_view_fees(lecturer) and not can_record_payments(lecturer)
    granted = make_user("granted")
    granted.user_permissions.add(Permission.objects.get(codename="view_payment"))
    assert can_view_fees(granted) and not can_record_payments(granted)


@pytest.mark.django_db
def test_anonymous_and_inactive_users_have_none(fees_officer):
    assert not can_view_fees(AnonymousUser()) and not can_record_payments(None)
    fees_officer.is_active = False
    fees_officer.save()
    assert not can_record_payments(fees_officer)


@pytest.mark.django_db
def test_the_group_gets_no_change_or_delete_permission():
    group = ensure_fees_office_group()
    assert group.name == FEES_OFFICE_GROUP
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"view_payment", "add_payment", "add_paymentreversal"} <= codenames
    assert not {c for c in codenames if c.startswith("delete_")}
    assert "change_payment" not in codenames


@pytest.mark.django_db
def test_the_office_sees_fees_but_makes_no_attendance_corrections(
    client, fees_officer, course, students, lecturer, billed_term
):
    """Fees yes; registers and their corrections stay with the course's lecturers."""
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    from attendance.models import AttendanceRecord
    from attendance.sessions import end_session, start_session

    start = timezone.now() - timedelta(hours=2)
    session, _ = start_session(course=course, by=lecturer, now=start)
    end_session(session=session, now=start + timedelta(hours=1))
    record = AttendanceRecord.objects.get(session=session, student=students[0])
    client.force_login(fees_officer)

    listing = client.get(reverse("payments:student-list"))
    assert "UNPAID" in listing.content.decode() and "totals" in listing.context
    assert client.get(reverse("course-register", args=[course.pk])).status_code == 404
    assert client.get(reverse("course-register-csv", args=[course.pk])).status_code == 404
    assert client.get(reverse("session-detail", args=[session.pk])).status_code == 404
    mark = reverse("record-mark", args=[session.pk, record.pk])
    response = client.post(mark, {"status": "present", "reason": "Office says so"})
    assert response.status_code == 404
    record.refresh_from_db()
    assert record.status == "absent" and not record.changes.exists()
