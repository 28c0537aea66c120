"""Fill every course's standings from its registers, sending no warning.

For registers written before the standings existed, or to repair them. Safe
to run again: each course's rows are recomputed and replaced, a course at a
time, and the warnings already sent keep their numbers.
"""

from django.core.management.base import BaseCommand

from reports.standings import rebuild_all

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Recompute attendance standings from the registers (no warnings are sent)."

    def handle(self, *args, **options) -> None:
        interactive = self.stdout.isatty()

        def progress(done: int, total: int, course) -> None:
            filled = BAR_WIDTH * done // total
            line = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} {course.code}"
            if interactive:
                self.stdout.write(f"\r{line[:100]:<100}", ending="")
            elif options["verbosity"] > 1 or done == total:
                self.stdout.write(line)

        written = rebuild_all(progress=progress)
        if interactive:
            self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"{written} standings written."))
