"""The one way to import or export a kind of record: import_school and export_school.

All or nothing: the plan checks every row first; any bad row and nothing is
written, and the result names each bad row's row, column and reason. Writing
happens in one transaction; a concurrent change to the same records makes the
database refuse it (unique constraints), and the whole import rolls back.

Each kind writes its rows in one order whatever the file's (by key, payments by
student), so two imports of the same records wait for each other instead of
deadlocking; should PostgreSQL still find a deadlock between an import and
another writer, or fail a serializable transaction, that is a conflict too.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, OperationalError, transaction

from accounts.imports import exporting, fees, people, school
from accounts.imports.reading import ImportFileError, read_table
from accounts.imports.rows import (
    CHANGED,
    ERROR,
    NEW,
    UNCHANGED,
    ImportConflict,
    Plan,
    Progress,
    RowError,
    RowOutcome,
    RowRefused,
)
from payments.ledger import LedgerError


@dataclass(frozen=True)
class Kind:
    name: str
    columns: tuple[str, ...]
    plan: Callable[..., Plan]
    apply: Callable[..., dict[str, int]]
    export: Callable[[], Iterator[tuple]]


KINDS = {
    kind.name: kind
    for kind in [
        Kind(
            "students",
            people.STUDENT_COLUMNS,
            people.plan_students,
            people.apply_students,
            people.export_students,
        ),
        Kind(
            "lecturers",
            people.LECTURER_COLUMNS,
            people.plan_lecturers,
            people.apply_lecturers,
            people.export_lecturers,
        ),
        Kind(
            "courses",
            school.COURSE_COLUMNS,
            school.plan_courses,
            school.apply_courses,
            school.export_courses,
        ),
        Kind(
            "enrollments",
            school.ENROLLMENT_COLUMNS,
            school.plan_enrollments,
            school.apply_enrollments,
            school.export_enrollments,
        ),
        Kind(
            "payments", fees.COLUMNS, fees.plan_payments, fees.apply_payments, fees.export_payments
        ),
    ]
}
FORMATS = ("csv", "xlsx")
# PostgreSQL's deadlock_detected and serialization_failure: it rolled this
# transaction back so that another could go on.
LOST_TO_ANOTHER_WRITER = {"40P01", "40001"}


@dataclass
class ImportResult:
    kind: str
    dry_run: bool
    applied: bool = False
    outcomes: list[RowOutcome] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    done: dict[str, int] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        counts = {NEW: 0, CHANGED: 0, UNCHANGED: 0, ERROR: 0}
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        return counts

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict:
        return {
            "counts": self.counts,
            "errors": len(self.errors),
            "applied": self.applied,
            **self.done,
        }


def import_school(
    *,
    kind: str,
    data: bytes,
    filename: str,
    dry_run: bool,
    by: AbstractBaseUser | None = None,
    base_url: str = "",
    progress: Progress | None = None,
) -> ImportResult:
    """Check every row of the file and, unless it is a dry run or a row is bad, write them."""
    spec = KINDS[kind]
    result = ImportResult(kind=kind, dry_run=dry_run)
    try:
        table = read_table(data=data, filename=filename, columns=spec.columns)
        with transaction.atomic():
            plan = spec.plan(table, progress=progress)
            for error in table.errors:
                plan.fail(error.row, "", [error])
            plan.outcomes.sort(key=lambda outcome: outcome.row)
            plan.errors.sort(key=lambda error: error.row)
            result.outcomes, result.errors = plan.outcomes, plan.errors
            if dry_run or plan.errors:
                return result
            result.done = spec.apply(plan, by=by, base_url=base_url)
            result.applied = True
    except ImportFileError as exc:
        result.errors = [RowError(0, "", str(exc))]
    except RowRefused as exc:
        # The plan allowed the row, but the ledger refused it while writing (a
        # payment recorded since took the student's term past what it holds).
        result.errors = [exc.error]
    except (IntegrityError, LedgerError) as exc:
        raise ImportConflict() from exc
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) not in LOST_TO_ANOTHER_WRITER:
            raise
        raise ImportConflict() from exc
    return result


def export_school(*, kind: str, fmt: str) -> bytes:
    spec = KINDS[kind]
    rows = spec.export()
    if fmt == "xlsx":
        return exporting.write_xlsx(spec.columns, rows, title=kind)
    return exporting.write_csv(spec.columns, rows)
