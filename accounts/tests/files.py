"""Spreadsheet files for the import tests, made the way Excel and people make them."""

import io

from openpyxl import Workbook


def csv_bytes(*rows: str, bom: bool = False, encoding: str = "utf-8") -> bytes:
    text = "\r\n".join(rows) + "\r\n"
    return (("\ufeff" if bom else "") + text).encode(encoding)


def xlsx_bytes(*rows: list) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
