"""Two admins saving one course at once, on PostgreSQL: the standings follow what is stored."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.urls import reverse

from attendance.models import Course
from conftest import in_thread, wait_until_blocked_on_a_lock
from reports.models import Standing
from reports.tests.builders import write_register
from timetable.tests.test_admin import course_form

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def admin_signed_in(name: str) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser(name, password="pw"))
    return client


def at_80_percent(course, students):
    """The first student, at 80 %: at risk below a 90 % threshold, not below 75 %."""
    ada = students[0]
    for status in ["present"] * 8 + ["absent"] * 2:
        write_register(course, {ada: status})
    return ada


def test_a_stale_form_saved_after_a_new_threshold_leaves_standings_that_agree(course, students):
    ada = at_80_percent(course, students)
    url = reverse("admin:attendance_course_change", args=[course.pk])
    alice, bob = admin_signed_in("alice"), admin_signed_in("bob")
    with transaction.atomic():
        # Alice raises the threshold to 90 %; before her save commits, Bob, whose form
        # still says 75 %, saves a new title.
        response = alice.post(url, {**course_form(course, []), "warn_below_percent": "90"})
        assert response.status_code == 302
        assert Standing.objects.get(student=ada, course=course).below
        thread, outcome = in_thread(
            lambda: bob.post(url, {**course_form(course, []), "title": "Renamed"})
        )
        wait_until_blocked_on_a_lock(thread, outcome)
    thread.join(timeout=30)
    assert "error" not in outcome, outcome
    assert outcome["result"].status_code == 302
    stored = Course.objects.get(pk=course.pk)
    assert stored.title == "Renamed"
    # Bob's post did not say what his page showed: every field is written, 75 % again,
    # and the standings say so.
    assert stored.warn_below_percent == 75
    assert not Standing.objects.get(student=ada, course=course).below


def test_a_page_saved_after_a_new_threshold_keeps_it_and_the_standings_agree(course, students):
    from accounts.tests.test_admin import _page_initials

    ada = at_80_percent(course, students)
    url = reverse("admin:attendance_course_change", args=[course.pk])
    alice, bob = admin_signed_in("alice"), admin_signed_in("bob")
    # Bob's page, read before Alice's change: it shows 75 %.
    initials = _page_initials(bob.get(url).content.decode())
    with transaction.atomic():
        response = alice.post(url, {**course_form(course, []), "warn_below_percent": "90"})
        assert response.status_code == 302
        thread, outcome = in_thread(
            lambda: bob.post(url, {**course_form(course, []), **initials, "title": "Renamed"})
        )
        wait_until_blocked_on_a_lock(thread, outcome)
    thread.join(timeout=30)
    assert "error" not in outcome, outcome
    assert outcome["result"].status_code == 302
    stored = Course.objects.get(pk=course.pk)
    # Bob changed the title only: Alice's 90 % stays, and so does Ada's place at risk.
    assert (stored.title, stored.warn_below_percent) == ("Renamed", 90)
    assert Standing.objects.get(student=ada, course=course).below
