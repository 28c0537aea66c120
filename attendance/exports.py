"""Downloads: streamed CSV and XLSX of value rows, under a safe file name.

Shared by the course register (here) and the fee exports (payments). Rows are
plain tuples from `values_list(...).iterator()`, never model instances, and
the response streams them as they are read, under WSGI and ASGI alike.
"""

import csv
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from attendance.reports import csv_safe

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROWS_PER_CHUNK = 500

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(stem: str, extension: str, *, fallback: str = "export") -> str:
    """`stem.extension` in letters, digits, dot, dash and underscore only.

    Whatever a course code holds (quotes, <, =, spaces, accents, line breaks),
    the name cannot end the header's quoted string or inject another header,
    and a spreadsheet never sees a leading "=". Other characters become "_".
    """
    cleaned = _UNSAFE.sub("_", stem).strip("._-")[:80] or fallback
    return f"{cleaned}.{extension}"


def attachment(response, stem: str, extension: str) -> None:
    """Set a quoted Content-Disposition with the sanitised name on `response`."""
    response["Content-Disposition"] = content_disposition_header(
        True, safe_filename(stem, extension)
    )


class _ChunkByChunk:
    """Streams a synchronous iterator under both server interfaces.

    Django collects a synchronous iterator into a list before sending it under
    ASGI (daphne serves this project). Here each chunk is read in the request's
    own thread (thread-sensitive sync_to_async), so the database cursor stays
    on its connection and the first bytes leave before the last row is read.
    """

    async def __aiter__(self):
        if self.is_async:
            async for part in super().__aiter__():
                yield part
            return
        iterator = iter(self.streaming_content)
        done = object()
        while True:
            part = await sync_to_async(next, thread_sensitive=True)(iterator, done)
            if part is done:
                break
            yield part


class StreamingDownload(_ChunkByChunk, StreamingHttpResponse):
    pass


class FileDownload(_ChunkByChunk, FileResponse):
    pass


class _Line:
    """A file-like object for csv.writer that hands back what it was given."""

    def write(self, value: str) -> str:
        return value


def _cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, str):
        return csv_safe(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    """The header at once, then the rows in chunks; text cells defused with csv_safe."""
    writer = csv.writer(_Line())
    yield writer.writerow(header)
    chunk = []
    for row in rows:
        chunk.append(writer.writerow([_cell(v) for v in row]))
        if len(chunk) >= ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def csv_response(stem: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingDownload:
    response = StreamingDownload(csv_chunks(header, rows), content_type=CSV_CONTENT_TYPE)
    attachment(response, stem, "csv")
    return response


# openpyxl's ILLEGAL_CHARACTERS_RE, without importing openpyxl for every page.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xlsx_value(value) -> object:
    if isinstance(value, str):
        # XML holds no control characters but tab and line breaks; openpyxl
        # refuses the rest, and a name edited in admin may hold one.
        return csv_safe(_XML_ILLEGAL.sub("", value))
    if isinstance(value, datetime):
        # Excel has no time zones: the school's local time, as on the pages.
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal | int | float | date) or value is None:
        return value
    return str(value)


def xlsx_response(
    stem: str, header: Sequence[str], rows: Iterable[Sequence], *, sheet: str = "Export"
) -> FileResponse:
    """An XLSX built by openpyxl's write-only workbook in a temporary file, then
    streamed from it. Text passes csv_safe, as in the CSV: never a formula, and
    a copy saved as CSV stays harmless."""
    from openpyxl import Workbook  # imported here: only exports need it

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(title=_UNSAFE.sub(" ", sheet)[:31] or "Export")
    worksheet.append(list(header))
    for row in rows:
        # csv_safe puts a quote before any text starting with "=", so openpyxl
        # never takes a value for a formula.
        worksheet.append([_xlsx_value(value) for value in row])
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (the response closes it)
    workbook.save(handle)
    handle.seek(0)
    return FileDownload(
        handle,
        content_type=XLSX_CONTENT_TYPE,
        as_attachment=True,
        filename=safe_filename(stem, "xlsx"),
    )
