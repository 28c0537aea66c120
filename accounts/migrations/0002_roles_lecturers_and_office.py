"""The school's roles as groups: "Lecturers" and "Office".

The payments app already made a "Fees office" group (after every migrate). The
office is one role, so that group is renamed "Office" (members and permissions
kept) and given the roster and import permissions too; payments now completes
"Office" after each migrate. Users who teach a course join "Lecturers".
"""

from django.db import migrations

LECTURERS = "Lecturers"
OFFICE = "Office"
OLD_FEES_OFFICE = "Fees office"

LECTURER_PERMISSIONS = [
    ("attendance", "view_course"),
    ("attendance", "view_student"),
    ("attendance", "view_enrollment"),
    ("attendance", "view_networksession"),
    ("attendance", "view_attendancerecord"),
    ("attendance", "change_attendancerecord"),
    ("attendance", "view_attendancechange"),
]
OFFICE_PERMISSIONS = [
    # The roster: the office keeps students and enrolments up to date.
    ("attendance", "view_course"),
    ("attendance", "view_student"),
    ("attendance", "add_student"),
    ("attendance", "change_student"),
    ("attendance", "view_enrollment"),
    ("attendance", "add_enrollment"),
    ("attendance", "change_enrollment"),
    ("accounts", "import_school"),
    # Fees, as the payments app's office had them (never change or delete).
    ("payments", "view_term"),
    ("payments", "view_charge"),
    ("payments", "add_charge"),
    ("payments", "view_payment"),
    ("payments", "add_payment"),
    ("payments", "view_paymentreversal"),
    ("payments", "add_paymentreversal"),
    ("payments", "view_duedateextension"),
    ("payments", "add_duedateextension"),
    ("payments", "change_duedateextension"),
]


def _ensure_permissions(apps) -> None:
    # On a fresh database permissions are made after migrate (post_migrate);
    # this migration needs them now.
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def _permissions(apps, pairs):
    Permission = apps.get_model("auth", "Permission")
    wanted = set(pairs)
    return [
        p
        for p in Permission.objects.filter(
            content_type__app_label__in={app for app, _ in pairs}
        ).select_related("content_type")
        if (p.content_type.app_label, p.codename) in wanted
    ]


def create_roles(apps, schema_editor):
    _ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("auth", "User")

    old = Group.objects.filter(name=OLD_FEES_OFFICE).first()
    office = Group.objects.filter(name=OFFICE).first()
    if old is not None and office is None:
        old.name = OFFICE
        old.save(update_fields=["name"])
        office = old
    elif old is not None:
        # Both exist (one made by hand): one role, one group.
        office.permissions.add(*old.permissions.all())
        office.user_set.add(*old.user_set.all())
        old.delete()
    if office is None:
        office = Group.objects.create(name=OFFICE)
    office.permissions.add(*_permissions(apps, OFFICE_PERMISSIONS))

    lecturers, _ = Group.objects.get_or_create(name=LECTURERS)
    lecturers.permissions.add(*_permissions(apps, LECTURER_PERMISSIONS))
    lecturers.user_set.add(*User.objects.filter(courses_taught__isnull=False).distinct())


def keep_roles(apps, schema_editor):
    # Going back leaves the groups: they may hold people an admin added since.
    pass


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_sign_in_records"),
        ("attendance", "0002_active_device_slot_not_null"),
        ("payments", "0002_ledger_append_only_in_database"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, keep_roles)]
