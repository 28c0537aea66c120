"""Reading an uploaded table: CSV (UTF-8 with or without BOM, or Excel's legacy
Windows-1252) and XLSX, into numbered rows of text keyed by column name.

Formulas are kept as text: an XLSX cell holding =SUM(A1:A3) reads as that
string, never as a computed value. Limits (bytes, rows) refuse a file whole.
"""

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from django.conf import settings
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

# A CSV cell that a spreadsheet would run as a formula is written with a leading
# apostrophe (exporting.py); reading takes it off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ImportFileError(Exception):
    """The file as a whole cannot be read; nothing is imported."""


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    # (row number as a spreadsheet shows it, {column: text})
    rows: list[tuple[int, dict[str, str]]]


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
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
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


def _xlsx_records(data: bytes):
    try:
        # data_only=False: a formula cell reads as its formula text, never its value.
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ImportFileError("The file is not a readable XLSX workbook.") from None
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(v) for v in values]
    finally:
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
    limit = settings.IMPORT_MAX_ROWS
    for number, cells in records:
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
    return Table(columns=columns, rows=rows)
