"""Writing a kind's records in the import's own format, so export → import is a no-op.

CSV: UTF-8 with a BOM (Excel then reads accents right), a text cell that a
spreadsheet would run as a formula gets a leading apostrophe, which reading
takes off. XLSX: every cell is written as text, so nothing becomes a formula,
and without the control characters XML cannot hold (an import refuses them,
but a record edited elsewhere may have one).
"""

import csv
import io
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from accounts.imports.reading import FORMULA_STARTS


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def write_csv(columns: tuple[str, ...], rows: Iterable[tuple]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([_csv_cell(v) for v in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_xlsx(columns: tuple[str, ...], rows: Iterable[tuple], *, title: str) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])

    def text_cells(values):
        cells = []
        for value in values:
            text = "" if value is None else ILLEGAL_CHARACTERS_RE.sub("", str(value))
            cell = WriteOnlyCell(sheet, value=text)
            cell.data_type = "s"  # text, even when it starts with "="
            cells.append(cell)
        return cells

    sheet.append(text_cells(columns))
    for row in rows:
        sheet.append(text_cells(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
