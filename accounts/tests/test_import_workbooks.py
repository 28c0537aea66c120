"""Workbooks that are damaged, lie about their size or unpack to far more than they weigh."""

import datetime
import io
import re
import zipfile

import pytest
from openpyxl import load_workbook

from accounts.imports.run import export_school, import_school
from accounts.tests.files import xlsx_bytes
from attendance.models import Student
from payments.models import Payment

pytestmark = pytest.mark.django_db

STUDENTS = ["student_number", "first_name", "last_name", "email"]
SHEET = "xl/worksheets/sheet1.xml"


def _rewrite(data: bytes, part: str, change) -> bytes:
    """The workbook with one of its zip's parts passed through `change`."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == part:
                content = change(content)
            target.writestr(item, content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _students_workbook(count: int) -> bytes:
    return xlsx_bytes(STUDENTS, *[[f"W{i}", "Ada", "Lovelace", None] for i in range(count)])


def _dimension(ref: str):
    return lambda xml: re.sub(
        rb'<dimension ref="[^"]*" ?/>', f'<dimension ref="{ref}"/>'.encode(), xml
    )


DAMAGED = {
    "no sheets": (
        "xl/workbook.xml",
        lambda xml: re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", xml),
    ),
    "a number cell holding text": (
        SHEET,
        lambda xml: xml.replace(
            b'<c r="A2" t="inlineStr"><is><t>W0</t></is></c>', b'<c r="A2" t="n"><v>abc</v></c>'
        ),
    ),
    "a cell with a negative reference": (
        SHEET,
        lambda xml: xml.replace(b'r="B2"', b'r="-2"', 1),
    ),
    "a sheet cut short": (SHEET, lambda xml: xml[: len(xml) // 2]),
    "styles that are not XML": ("xl/styles.xml", lambda xml: b"<styleSheet><<"),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_a_damaged_workbook_is_refused_whole(case):
    part, change = DAMAGED[case]
    data = _rewrite(_students_workbook(3), part, change)
    result = import_school(kind="students", data=data, filename="s.xlsx", dry_run=False)
    [error] = result.errors
    assert error.row == 0
    assert error.reason == "The file is not a readable XLSX workbook."
    assert not Student.objects.exists()


def test_rows_past_the_size_a_workbook_states_are_read():
    # Some programs write a stale <dimension>; a read-only openpyxl sheet would
    # stop there and drop the rest without a word.
    data = _rewrite(_students_workbook(10), SHEET, _dimension("A1:D3"))
    assert b'<dimension ref="A1:D3"/>' in zipfile.ZipFile(io.BytesIO(data)).read(SHEET)
    result = import_school(kind="students", data=data, filename="s.xlsx", dry_run=False)
    assert result.applied, [str(e) for e in result.errors]
    assert Student.objects.count() == 10


def test_a_workbook_that_runs_to_its_last_row_is_refused(settings):
    settings.IMPORT_MAX_ROWS = 10
    far = b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    data = _rewrite(
        _students_workbook(2),
        SHEET,
        lambda xml: _dimension("A1:XFD1048576")(xml).replace(
            b"</sheetData>", far + b"</sheetData>"
        ),
    )
    [error] = import_school(kind="students", data=data, filename="s.xlsx", dry_run=False).errors
    assert error.reason == (
        "The file goes on past row 21 (blank rows count); at most 10 rows are imported at once. "
        "Split it."
    )
    assert not Student.objects.exists()


def test_a_workbook_that_unpacks_past_the_limit_is_refused_before_it_is_read(settings):
    settings.IMPORT_MAX_BYTES = 50_000  # a workbook may unpack to 500 KB
    # A cell holds at most 32,767 characters: 20 rows of 30,000 unpack to 0.6 MB.
    data = xlsx_bytes(STUDENTS, *[[f"W{i}", "A" * 30_000, "B", None] for i in range(20)])
    assert len(data) < 50_000
    [error] = import_school(kind="students", data=data, filename="s.xlsx", dry_run=False).errors
    assert error.reason == (
        "The workbook unpacks to 0.6 MB; the limit is 0.5 MB. Save it as CSV, or split it."
    )
    assert not Student.objects.exists()


def test_a_control_character_in_a_workbook_cell_is_an_error_of_its_row():
    data = xlsx_bytes(STUDENTS, ["W1", "Ada", "Love\nlace", None], ["W2", "Bo", "Li", None])
    result = import_school(kind="students", data=data, filename="s.xlsx", dry_run=False)
    assert [str(e) for e in result.errors] == [
        "row 2, column last_name: Holds a control character (U+000A); remove it."
    ]
    assert [(o.row, o.status) for o in result.outcomes] == [(2, "error"), (3, "new")]
    assert not Student.objects.exists()


def test_a_payment_dated_with_a_time_of_day_is_read_as_its_day(students, billed_term):
    paid = datetime.datetime.combine(billed_term.starts_on, datetime.time(10, 30))
    data = xlsx_bytes(
        ["student_number", "amount", "method", "reference", "paid_on"],
        [students[0].student_number, 25, "cash", "R-TIME", paid],
    )
    result = import_school(kind="payments", data=data, filename="p.xlsx", dry_run=False)
    assert result.applied, [str(e) for e in result.errors]
    assert Payment.objects.get(reference="R-TIME").received_at.date() == billed_term.starts_on


def test_an_export_leaves_out_what_a_workbook_cannot_hold(students):
    # Edited in admin, a name may hold a character no XML may.
    Student.objects.filter(pk=students[0].pk).update(first_name="A\x01B")
    book = load_workbook(io.BytesIO(export_school(kind="students", fmt="xlsx")), read_only=True)
    rows = {row[0]: row for row in book.active.iter_rows(values_only=True)}
    assert rows[students[0].student_number][1] == "AB"
