from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in


class AttendanceConfig(AppConfig):
    name = "attendance"
    verbose_name = "Attendance"

    def ready(self) -> None:
        from attendance.navigation import remember_navigation

        user_logged_in.connect(remember_navigation, dispatch_uid="attendance-navigation")
