"""Demo data for the embedded default: each app's part, in dependency order.

Idempotent: every part looks things up before it makes them, so running it
again (every `make run`) changes nothing.
"""

from django.core.management.base import BaseCommand

from accounts import demo as accounts_demo
from attendance import demo as attendance_demo
from payments import demo as payments_demo
from reports import demo as reports_demo
from timetable import demo as timetable_demo


class Command(BaseCommand):
    help = (
        "Load the demo logins, courses, students, devices, fees and timetable. Safe to run again."
    )

    def handle(self, *args, **options):
        attendance_demo.seed_school(stdout=self.stdout)
        payments_demo.seed_fees(stdout=self.stdout)
        accounts_demo.seed_roles(stdout=self.stdout)
        timetable_demo.seed_timetable(stdout=self.stdout)
        reports_demo.seed_reports(stdout=self.stdout)
        self.stdout.write("Demo logins (username / password):")
        for line in attendance_demo.LOGIN_LINES:
            self.stdout.write(line)
