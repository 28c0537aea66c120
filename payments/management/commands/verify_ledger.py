"""Recompute every balance row from the ledger's entries; report drift, or repair it."""

import argparse

from django.core.management.base import BaseCommand, CommandError

from attendance.models import Student
from payments import ledger
from payments.balances import Drift, find_drift
from payments.models import Term


def positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{raw!r}: must be 1 or more")
    return value


class Command(BaseCommand):
    help = (
        "Recompute every student's balance for every term from the ledger's entries and "
        "list the rows that differ (exit 1). --repair writes the entries' figures over them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--term", type=positive_int, help="Check one term (its id).")
        parser.add_argument(
            "--repair", action="store_true", help="Fix drifted rows from the entries."
        )
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=2000,
            help="Students summed per round of queries (default 2000).",
        )

    def handle(self, *args, term, repair, batch_size, **options):
        terms = list(Term.objects.order_by("starts_on", "pk"))
        if term is not None:
            terms = [t for t in terms if t.pk == term]
            if not terms:
                raise CommandError(f"No term has id {term}.", returncode=2)
        student_ids = list(Student.objects.order_by("pk").values_list("pk", flat=True))
        total = len(student_ids)
        drifted = 0
        for t in terms:
            self.stdout.write(f"{t}: checking {total:,} students")
            checked = 0
            for start in range(0, total, batch_size):
                batch = student_ids[start : start + batch_size]
                if repair:
                    drifts = ledger.repair_balances(term=t, student_ids=batch)
                else:
                    drifts = find_drift(term=t, student_ids=batch)
                self._report(t, drifts, repaired=repair)
                drifted += len(drifts)
                checked += len(batch)
                self.stdout.write(f"  {checked:,}/{total:,} students checked, {drifted} drifted")
        summary = f"{len(terms)} term(s), {total:,} students: {drifted} balance row(s) drifted"
        if drifted and not repair:
            raise CommandError(
                f"{summary} from their entries; run with --repair to fix them.", returncode=1
            )
        if drifted:
            self.stdout.write(self.style.SUCCESS(f"{summary}; repaired from the entries."))
        else:
            self.stdout.write(self.style.SUCCESS(f"{summary}: every balance matches."))

    def _report(self, term: Term, drifts: list[Drift], *, repaired: bool) -> None:
        if not drifts:
            return
        numbers = dict(
            Student.objects.filter(pk__in=[d.student_id for d in drifts]).values_list(
                "pk", "student_number"
            )
        )
        verb = "REPAIRED" if repaired else "DRIFT"
        for drift in drifts:
            self.stdout.write(
                f"  {verb} {numbers.get(drift.student_id, drift.student_id)} in {term}: "
                f"{drift.describe()}"
            )
