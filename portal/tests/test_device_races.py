"""Replacements and resets racing on PostgreSQL: the student row lock and the slot
constraint keep the device limit, and each revoked device has one audit row."""

import pytest

from attendance.devices import DeviceNotActive, register_device
from attendance.models import Device
from conftest import run_at_once
from portal.devices import replace_my_device, reset_devices
from portal.models import DeviceRevocation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_replacements_of_the_same_phone_make_one_new_device(pupil, ada, settings):
    settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT = 2
    old, _ = register_device(student=ada, name="old")
    register_device(student=ada, name="tablet")
    results = run_at_once(
        2,
        lambda i: replace_my_device(student=ada, old_device_id=old.pk, name=f"new {i}", by=pupil),
    )
    assert sum(isinstance(r, tuple) for r in results) == 1, results
    assert sum(isinstance(r, DeviceNotActive) for r in results) == 1, results
    active = Device.objects.filter(student=ada, is_active=True)
    assert active.count() == 2
    assert sorted(active.values_list("slot", flat=True)) == [1, 2]
    assert DeviceRevocation.objects.filter(device=old).count() == 1


def test_replacements_of_two_phones_at_once_both_succeed_within_the_limit(pupil, ada, settings):
    settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT = 2
    phones = [register_device(student=ada, name=f"old {i}")[0] for i in range(2)]
    results = run_at_once(
        2,
        lambda i: replace_my_device(
            student=ada, old_device_id=phones[i].pk, name=f"new {i}", by=pupil
        ),
    )
    assert all(isinstance(r, tuple) for r in results), results
    active = Device.objects.filter(student=ada, is_active=True)
    assert sorted(active.values_list("name", flat=True)) == ["new 0", "new 1"]
    assert sorted(active.values_list("slot", flat=True)) == [1, 2]


def test_a_replacement_racing_a_registration_at_the_limit_never_makes_a_third(pupil, ada, settings):
    settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT = 2
    old, _ = register_device(student=ada, name="old")
    register_device(student=ada, name="tablet")

    def work(i: int):
        if i == 0:
            return replace_my_device(student=ada, old_device_id=old.pk, name="new", by=pupil)
        return register_device(student=ada, name=f"extra {i}")

    run_at_once(4, work)
    assert Device.objects.filter(student=ada, is_active=True).count() == 2


def test_two_clerks_resetting_the_same_phone_write_one_audit_row(ada, office_user, staff_user):
    phone, _ = register_device(student=ada, name="phone")
    clerks = [office_user, staff_user]
    results = run_at_once(
        2,
        lambda i: reset_devices(
            student=ada, device_ids=[phone.pk], by=clerks[i], reason=f"lost {i}"
        ),
    )
    assert not any(isinstance(r, Exception) for r in results), results
    assert sorted(len(r) for r in results) == [0, 1]
    assert DeviceRevocation.objects.filter(device=phone).count() == 1
    assert not Device.objects.get(pk=phone.pk).is_active
