"""What an import found in each row, and the checks rows share."""

from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

NEW, CHANGED, UNCHANGED, ERROR = "new", "changed", "unchanged", "error"

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet numbers it; 0 for the file as a whole
    column: str
    reason: str

    def __str__(self) -> str:
        if not self.row:
            return self.reason
        return f"row {self.row}, column {self.column}: {self.reason}"


class ImportConflict(Exception):
    """The records changed while the import was writing; nothing was imported.

    Here rather than in run.py, so that a kind's writes may raise it too."""

    def __init__(
        self,
        message: str = (
            "These records were changed while the file was being imported, so nothing was "
            "imported. Import the file again."
        ),
    ):
        super().__init__(message)


class RowRefused(Exception):
    """A row the plan accepted and writing refused; the whole import rolls back."""

    def __init__(self, error: RowError):
        super().__init__(str(error))
        self.error = error


@dataclass
class RowOutcome:
    row: int
    status: str
    key: str
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Plan:
    """What importing a file would do: an outcome per row and the writes to make."""

    outcomes: list[RowOutcome] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    work: dict[str, Any] = field(default_factory=dict)

    def add(self, outcome: RowOutcome) -> None:
        self.outcomes.append(outcome)

    def fail(self, row: int, key: str, errors: list[RowError]) -> None:
        self.errors.extend(errors)
        self.outcomes.append(RowOutcome(row=row, status=ERROR, key=key))


class RowChecker:
    """Collects a row's problems, each with its column."""

    def __init__(self, row: int, values: dict[str, str]):
        self.row = row
        self.values = values
        self.errors: list[RowError] = []
        if values.get("__extra__"):
            self.error("-", "The row has more cells than the file has columns.")

    def error(self, column: str, reason: str) -> None:
        self.errors.append(RowError(self.row, column, reason))

    def text(self, column: str, *, max_length: int, required: bool = True) -> str:
        value = self.values.get(column, "")
        if required and not value:
            self.error(column, "This value is required.")
        elif len(value) > max_length:
            self.error(column, f"Too long: {len(value)} characters, at most {max_length}.")
        return value

    def email(self, column: str, *, max_length: int = 254) -> str:
        value = self.text(column, max_length=max_length, required=False)
        if value and len(value) <= max_length:
            try:
                validate_email(value)
            except ValidationError:
                self.error(column, f"{value!r} is not a valid email address.")
        return value

    def once(self, column: str, key: Hashable, seen: dict, *, label: str = "") -> None:
        """A key may appear once in a file: a second row with it is an error."""
        if key in seen:
            self.error(
                column,
                f"{label or repr(key)} appears again in this file (first on row {seen[key]}).",
            )
        else:
            seen[key] = self.row


def chunked(items: Iterable, size: int = 2000) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def diff(current: dict[str, str], wanted: dict[str, str]) -> dict[str, tuple[str, str]]:
    return {k: (current[k], v) for k, v in wanted.items() if current[k] != v}


def report_progress(progress: Progress | None, done: int, total: int, *, every: int = 1000):
    if progress is not None and (done % every == 0 or done == total):
        progress(done, total)
