"""Bulk import and export of the school's records (students, lecturers, courses,
enrollments, payments) from CSV and XLSX. See run.py for the entry point."""
