import hashlib
from unittest import mock

import pytest

from attendance import tokens
from attendance.devices import (
    DeviceLimitReached,
    authenticate_device,
    hello_device,
    hello_many,
    register_device,
    revoke_device,
)
from attendance.models import Device

pytestmark = pytest.mark.django_db


def test_it_returns_the_device_and_a_token_stored_only_as_a_hash(students):
    device, token = register_device(student=students[0], name="  Ada's phone  ")
    device.refresh_from_db()
    assert device.name == "Ada's phone" and device.is_active and device.slot == 1
    assert len(token) >= 40
    assert token not in device.token_hash
    assert device.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not Device.objects.filter(token_hash=token).exists()


def test_a_blank_name_becomes_device(students):
    device, _ = register_device(student=students[0], name="   ")
    assert device.name == "Device"


def test_a_student_may_have_two_active_devices_and_no_more(students, settings):
    settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT = 2
    register_device(student=students[0], name="one")
    register_device(student=students[0], name="two")
    with pytest.raises(DeviceLimitReached, match="already has 2 active devices"):
        register_device(student=students[0], name="three")
    assert Device.objects.filter(student=students[0]).count() == 2


def test_revoking_one_frees_its_place(students):
    first, _ = register_device(student=students[0], name="one")
    register_device(student=students[0], name="two")
    assert revoke_device(device=first)
    third, _ = register_device(student=students[0], name="three")
    first.refresh_from_db()
    assert not first.is_active and first.slot is None and first.revoked_at is not None
    assert third.slot == 1


def test_the_right_token_authenticates_the_device(students):
    device, token = register_device(student=students[0], name="phone")
    assert authenticate_device(public_id=str(device.public_id), token=token) == device


@pytest.mark.parametrize(
    "credentials",
    [
        lambda d, t: (str(d.public_id), t + "x"),
        lambda d, t: (str(d.public_id), ""),
        lambda d, t: ("not-a-uuid", t),
        lambda d, t: ("00000000-0000-0000-0000-000000000000", t),
        lambda d, t: (str(d.public_id), "x" * 500),
        lambda d, t: (None, t),
    ],
)
def test_wrong_credentials_do_not(students, credentials):
    device, token = register_device(student=students[0], name="phone")
    public_id, secret = credentials(device, token)
    assert authenticate_device(public_id=public_id, token=secret) is None


def test_a_revoked_device_fails_authentication(students):
    device, token = register_device(student=students[0], name="phone")
    revoke_device(device=device)
    assert authenticate_device(public_id=str(device.public_id), token=token) is None
    assert not revoke_device(device=device)


def test_an_inactive_students_device_fails_authentication(students):
    device, token = register_device(student=students[0], name="phone")
    students[0].is_active = False
    students[0].save()
    assert authenticate_device(public_id=str(device.public_id), token=token) is None


def test_tokens_are_compared_in_constant_time(students):
    device, token = register_device(student=students[0], name="phone")
    with mock.patch.object(
        tokens.hmac, "compare_digest", wraps=tokens.hmac.compare_digest
    ) as compare:
        assert authenticate_device(public_id=str(device.public_id), token=token) == device
    compare.assert_called_once_with(tokens.hash_secret(token), device.token_hash)


def test_a_hello_authenticates_in_one_query_and_writes_nothing(students, django_assert_num_queries):
    device, token = register_device(student=students[0], name="phone")
    with django_assert_num_queries(1):
        greeted = hello_device(public_id=str(device.public_id), token=token)
    assert greeted == device
    device.refresh_from_db()
    assert device.last_used_at is None


def test_hellos_for_a_whole_class_cost_one_query(make_students, course, django_assert_num_queries):
    made = [register_device(student=s, name="phone") for s in make_students(30, course=course)]
    credentials = [(str(d.public_id), token) for d, token in made]
    credentials[3] = (credentials[3][0], "wrong")
    credentials[5] = ("not-a-uuid", "x")
    with django_assert_num_queries(1):
        greeted = hello_many(credentials)
    assert [g.pk if g else None for g in greeted] == [
        None if i in (3, 5) else d.pk for i, (d, _t) in enumerate(made)
    ]


def test_a_hello_with_a_wrong_token_records_nothing(students):
    device, _token = register_device(student=students[0], name="phone")
    assert hello_device(public_id=str(device.public_id), token="wrong") is None
    device.refresh_from_db()
    assert device.last_used_at is None
