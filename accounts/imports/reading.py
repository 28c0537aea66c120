"""Reading an uploaded table: CSV (UTF-8 with or without BOM, or Excel's legacy
Windows-1252) and XLSX, into numbered rows of text keyed by column name.

Formulas are kept as text: an XLSX cell holding =SUM(A1:A3) reads as that
string, never as a computed value. Limits (bytes, rows, an XLSX's unpacked size)
refuse a file whole. A cell holding a control character (a NUL, a line break,
an escape) is an error of its row: no column of any kind holds one, and
PostgreSQL refuses a NUL.
"""

import codecs
import csv
import io
import logging
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from django.conf import settings
from openpyxl import load_workbook

from accounts.imports.rows import RowError
from attendance.validators import unwritable_character

logger = logging.getLogger(__name__)

# A CSV cell that a spreadsheet would run as a formula is written with a leading
# apostrophe (exporting.py); reading takes it off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# An XLSX is a zip of XML: 10 MB of it can unpack to far more, and openpyxl
# holds a sheet's shared strings in memory. This many times the byte limit.
XLSX_UNPACKED_FACTOR = 10


class ImportFileError(Exception):
    """The file as a whole cannot be read; nothing is imported."""


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    # (row number as a spreadsheet shows it, {column: text})
    rows: list[tuple[int, dict[str, str]]]
    # Rows left out of `rows` because a cell holds a character no record may.
    errors: list[RowError] = field(default_factory=list)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def normalise_header(name: object) -> str:
    return str(name or "").strip().lstrip("\ufeff").strip().lower().replace(" ", "_")


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        # 80.0 typed in a sheet is "80"; 80.5 stays "80.5" (no binary noise).
        return str(int(value)) if value.is_integer() else str(Decimal(repr(value)))
    return str(value).strip()


def _unescape_csv(text: str) -> str:
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_STARTS:
        return text[1:]
    return text


def _decode(data: bytes) -> str:
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        # Excel's "Unicode Text".
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFileError("The file is damaged UTF-16 text.") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_at = exc.start
    if any(ord(char) > 0x7F and char != "\ufffd" for char in data.decode("utf-8", "replace")):
        # Some of it is UTF-8 and some is not: read as Windows-1252, every
        # accented letter of the UTF-8 part would be stored garbled.
        line = data[:bad_at].count(b"\n") + 1
        raise ImportFileError(
            f"Line {line} is not UTF-8, but other lines are: the file mixes two encodings. "
            "Save it as CSV UTF-8 or XLSX."
        )
    try:
        # Excel's "CSV (Comma delimited)" on Windows writes the ANSI code page.
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise ImportFileError(
            "The file is not text in UTF-8 or Windows-1252. Save it as CSV UTF-8 or XLSX."
        ) from None


def _csv_records(data: bytes):
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    # Excel uses ";" where the decimal separator is a comma, and some save tabs.
    delimiter = max([",", ";", "\t"], key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for number, record in enumerate(reader, start=1):
            yield number, [_unescape_csv(cell.strip()) for cell in record]
    except csv.Error as exc:
        raise ImportFileError(f"Row {reader.line_num}: the CSV is malformed ({exc}).") from None


def _check_unpacked_size(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            # zipfile reads no more of a part than its stated size.
            unpacked = sum(part.file_size for part in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ImportFileError("The file is not a readable XLSX workbook.") from None
    limit = XLSX_UNPACKED_FACTOR * settings.IMPORT_MAX_BYTES
    if unpacked > limit:
        raise ImportFileError(
            f"The workbook unpacks to {_mb(unpacked)}; the limit is {_mb(limit)}. "
            "Save it as CSV, or split it."
        )


def _xlsx_records(data: bytes):
    _check_unpacked_size(data)
    book = None
    try:
        # data_only=False: a formula cell reads as its formula text, never its value.
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        sheet = book.worksheets[0]
        # A read-only sheet trusts the size the file states, which some programs
        # write wrong: rows past it would be dropped without a word, and a stated
        # A1:XFD1048576 pads every row to 16,384 cells. Read what is there.
        sheet.reset_dimensions()
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(v) for v in values]
    except ImportFileError:
        raise
    except Exception:  # a damaged or hostile workbook fails in openpyxl in many ways
        logger.info("An unreadable XLSX upload", exc_info=True)
        raise ImportFileError("The file is not a readable XLSX workbook.") from None
    finally:
        if book is not None:
            book.close()


def read_table(*, data: bytes, filename: str, columns: tuple[str, ...]) -> Table:
    """The file's rows under `columns` (every one required, none other allowed)."""
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise ImportFileError(
            f"The file is {_mb(len(data))}; the limit is {_mb(settings.IMPORT_MAX_BYTES)}."
        )
    if not data.strip():
        raise ImportFileError("The file is empty.")
    name = (filename or "").lower()
    if name.endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        records = _xlsx_records(data)
    elif name.endswith((".csv", ".txt")) or not name:
        records = _csv_records(data)
    else:
        raise ImportFileError("Upload a .csv or .xlsx file.")

    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    errors: list[RowError] = []
    limit = settings.IMPORT_MAX_ROWS
    # Blank rows are skipped, but not without end: a workbook can name its last
    # row 1,048,576 in a few bytes.
    last_row = 2 * limit + 1
    for number, cells in records:
        if number > last_row:
            raise ImportFileError(
                f"The file goes on past row {last_row:,} (blank rows count); "
                f"at most {limit:,} rows are imported at once. Split it."
            )
        if not any(cells):
            continue  # blank lines, and the empty rows spreadsheets leave at the end
        if header is None:
            header = [normalise_header(c) for c in cells]
            while header and not header[-1]:
                header.pop()
            missing = [c for c in columns if c not in header]
            unknown = [c for c in header if c not in columns]
            if missing or unknown or len(set(header)) != len(header):
                raise ImportFileError(
                    "The first row must name the columns "
                    + ", ".join(columns)
                    + (f"; missing: {', '.join(missing)}" if missing else "")
                    + (
                        f"; unknown: {', '.join(c or '(blank)' for c in unknown)}"
                        if unknown
                        else ""
                    )
                    + ("; a column is named twice" if len(set(header)) != len(header) else "")
                    + "."
                )
            continue
        if len(rows) >= limit:
            raise ImportFileError(f"The file has more than {limit:,} rows; split it.")
        if bad := _unwritable_cell(number, header, cells):
            errors.append(bad)
            continue
        values = dict(zip(header, cells, strict=False))
        extra = [c for c in cells[len(header) :] if c]
        if extra:
            values["__extra__"] = extra[0]
        rows.append(
            (
                number,
                {c: values.get(c, "") for c in columns}
                | ({"__extra__": values["__extra__"]} if extra else {}),
            )
        )
    if header is None:
        raise ImportFileError("The file is empty.")
    return Table(columns=columns, rows=rows, errors=errors)


def _unwritable_cell(number: int, header: list[str], cells: list[str]) -> RowError | None:
    for index, cell in enumerate(cells):
        if (char := unwritable_character(cell)) is not None:
            column = header[index] if index < len(header) else "-"
            return RowError(
                number, column, f"Holds a control character (U+{ord(char):04X}); remove it."
            )
    return None
