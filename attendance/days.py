"""The range of days the school's records may name.

The days a sweep may be run as of (`cleanup_sessions --now`), the timetable
shows, a term runs and a payment is dated: a week around any of them, in any
time zone, stays well inside what Python's dates and PostgreSQL's hold.
"""

from datetime import date

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
