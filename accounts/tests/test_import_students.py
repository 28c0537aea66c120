import pytest
from django.contrib.auth import get_user_model

from accounts.imports.run import import_school
from accounts.models import Invitation
from accounts.tests.files import csv_bytes, xlsx_bytes
from attendance.models import Student
from outbox.models import OutboundEmail

pytestmark = pytest.mark.django_db

HEADER = "student_number,first_name,last_name,email"


def run(data: bytes, *, dry_run=False, filename="students.csv"):
    return import_school(
        kind="students",
        data=data,
        filename=filename,
        dry_run=dry_run,
        base_url="https://school.example/",
    )


def test_new_students_get_a_login_named_by_their_number_and_an_invitation():
    result = run(csv_bytes(HEADER, "S1,Ada,Lovelace,ada@example.com", "S2,Alan,Turing,"))
    assert result.applied and result.counts == {"new": 2, "changed": 0, "unchanged": 0, "error": 0}
    ada = Student.objects.get(student_number="S1")
    assert ada.user.username == "S1" and not ada.user.has_usable_password()
    assert ada.user.email == "ada@example.com"
    assert Student.objects.get(student_number="S2").user.username == "S2"
    # Only the one with an email is invited; the mail waits in the outbox with its link.
    [invitation] = Invitation.objects.all()
    assert invitation.user == ada.user
    [mail] = OutboundEmail.objects.all()
    assert (
        mail.to == ["ada@example.com"]
        and "https://school.example/account/welcome/" in mail.body_text
    )
    assert result.done == {"logins": 2, "invited": 1}


def test_importing_the_same_file_again_changes_nothing_and_sends_nothing():
    data = csv_bytes(HEADER, "S1,Ada,Lovelace,ada@example.com")
    run(data)
    again = run(data)
    assert again.counts == {"new": 0, "changed": 0, "unchanged": 1, "error": 0}
    assert get_user_model().objects.count() == 1
    assert OutboundEmail.objects.count() == 1 and Invitation.objects.count() == 1


def test_a_changed_name_updates_the_student_and_their_login_and_a_missing_row_stays():
    run(csv_bytes(HEADER, "S1,Ada,Lovelace,ada@example.com", "S2,Alan,Turing,"))
    result = run(csv_bytes(HEADER, "S1,Ada,King,countess@example.com"))
    assert result.counts["changed"] == 1
    [outcome] = result.outcomes
    assert outcome.changes == {
        "last_name": ("Lovelace", "King"),
        "email": ("ada@example.com", "countess@example.com"),
    }
    ada = Student.objects.get(student_number="S1")
    assert ada.last_name == "King" and ada.user.last_name == "King"
    assert ada.user.email == "countess@example.com"
    assert Student.objects.filter(student_number="S2").exists()


def test_a_dry_run_reports_but_writes_nothing():
    result = run(csv_bytes(HEADER, "S1,Ada,Lovelace,ada@example.com"), dry_run=True)
    assert result.counts["new"] == 1 and not result.applied
    assert not Student.objects.exists() and not get_user_model().objects.exists()
    assert not OutboundEmail.objects.exists()


def test_a_utf8_file_with_a_bom_from_excel_reads_its_first_column():
    result = run(csv_bytes(HEADER, "S1,Zoë,Ndiaye,", bom=True))
    assert result.applied
    assert Student.objects.get(student_number="S1").first_name == "Zoë"


def test_excels_legacy_csv_with_semicolons_and_windows_1252_is_read():
    data = csv_bytes(HEADER.replace(",", ";"), "S1;José;Müller;", encoding="cp1252")
    result = run(data)
    assert result.applied, result.errors
    assert Student.objects.get(student_number="S1").first_name == "José"


def test_an_xlsx_file_imports_and_a_formula_is_kept_as_text():
    data = xlsx_bytes(
        HEADER.split(","), ["S1", "Ada", '=HYPERLINK("http://x")', None], [12345, "Bo", "Li", None]
    )
    result = run(data, filename="students.xlsx")
    assert result.applied, result.errors
    assert Student.objects.get(student_number="S1").last_name == '=HYPERLINK("http://x")'
    # A number typed in a cell is the text "12345", not "12345.0".
    assert Student.objects.filter(student_number="12345").exists()


def test_blank_lines_and_spaces_around_values_are_ignored():
    result = run(csv_bytes(HEADER, "", " S1 , Ada , Lovelace , ", ",,,"))
    assert result.counts["new"] == 1
    assert Student.objects.get(student_number="S1").first_name == "Ada"
