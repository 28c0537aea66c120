from django.urls import path

from timetable import views

app_name = "timetable"
urlpatterns = [
    path("timetable/", views.my_week, name="week"),
    path("timetable/today/", views.today, name="today"),
    path("timetable/cancel/", views.cancel, name="cancel"),
    path("timetable/restore/", views.restore, name="restore"),
    path("timetable/calendar/", views.feed_new, name="feed-new"),
    path("timetable/calendar/revoke/", views.feed_revoke, name="feed-revoke"),
    path("calendar/<str:key>.ics", views.feed, name="feed"),
    path("courses/<int:course_id>/week/", views.course_week, name="course-week"),
    path("courses/<int:course_id>/extra-class/", views.extra_class, name="extra-class"),
    path("courses/<int:course_id>/late-threshold/", views.late_threshold, name="late-threshold"),
]
