"""Registering, authenticating and revoking student devices."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.utils import timezone

from attendance.models import Device, Student
from attendance.tokens import hash_secret, new_secret, secret_matches
from realtime import broadcast

# A marker cookie (no secret in it) set where a device was registered: the device
# page opens there without signing in again. Set by every page that registers one.
DEVICE_COOKIE = "rollcall_device"
DEVICE_COOKIE_AGE = 365 * 24 * 3600


def registered_response(request, *, device, token: str, student) -> JsonResponse:
    """201 with the new device's token (shown this once) and the cookie by which the
    device page knows this browser has a registered phone."""
    response = JsonResponse(
        {
            "device": str(device.public_id),
            "token": token,
            "name": device.name,
            "student": student.student_number,
        },
        status=201,
    )
    response.set_cookie(
        DEVICE_COOKIE,
        "1",
        max_age=DEVICE_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
    return response


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """What an open socket keeps of its device: all the presence services read of it.

    A Device with its Student is two model instances (with their state and
    caches); with 10,000 sockets open in one process the difference counts.
    """

    pk: int
    student_id: int
    public_id: uuid.UUID

    @classmethod
    def of(cls, device: Device) -> "DeviceRef":
        return cls(pk=device.pk, student_id=device.student_id, public_id=device.public_id)


DEVICE_NAME_MAX = 100


def device_name_problem(name: str) -> str | None:
    """Why a device name (already stripped) cannot be kept, or None."""
    if len(name) > DEVICE_NAME_MAX:
        return f"Use a name of at most {DEVICE_NAME_MAX} characters."
    if "\x00" in name:
        return "A name cannot contain a null character."
    return None


class DeviceLimitReached(Exception):
    """The student already has the maximum number of active devices."""


def register_device(*, student: Student, name: str) -> tuple[Device, str]:
    """Make a device for `student`; the returned token is shown once and never stored."""
    name = (name or "").strip()[:100] or "Device"
    limit = settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT
    token = new_secret()
    with transaction.atomic():
        # The student row lock serialises registrations for one student; the
        # unique (student, slot) constraint is the backstop.
        Student.objects.select_for_update().get(pk=student.pk)
        used = set(
            Device.objects.filter(student=student, is_active=True).values_list("slot", flat=True)
        )
        free = [slot for slot in range(1, limit + 1) if slot not in used]
        if not free:
            raise DeviceLimitReached(
                f"{student.full_name} already has {limit} active devices; revoke one first."
            )
        device = Device.objects.create(
            student=student, name=name, token_hash=hash_secret(token), slot=free[0]
        )
    return device, token


class DeviceNotActive(Exception):
    """The device to replace is not an active device of this student (any more)."""


def replace_device(*, student: Student, old_device: Device, name: str) -> tuple[Device, str]:
    """Revoke `old_device` and register a new device in its place, in one transaction.

    For a student at the device limit who changes phones: the freed slot goes to
    the new device. The student row lock (taken before the revoke) serialises
    this with registrations and other replacements; of two replacements of the
    same device one wins and the other raises DeviceNotActive, changing nothing.
    """
    with transaction.atomic():
        Student.objects.select_for_update().get(pk=student.pk)
        if old_device.student_id != student.pk or not revoke_device(device=old_device):
            raise DeviceNotActive(f"{old_device.name} is not an active device of yours.")
        return register_device(student=student, name=name)


def authenticate_device(*, public_id: str, token: str) -> Device | None:
    """The active device whose id and token match, or None."""
    if not isinstance(public_id, str) or not isinstance(token, str) or len(token) > 200:
        return None
    try:
        device_uuid = uuid.UUID(public_id)
    except ValueError:
        return None
    device = (
        Device.objects.select_related("student")
        .filter(public_id=device_uuid, is_active=True, student__is_active=True)
        .first()
    )
    if device is None or not secret_matches(token, device.token_hash):
        return None
    return device


def revoke_device(*, device: Device) -> bool:
    """Revoke `device`; its open socket is closed at its next message. True if it was active."""
    now = timezone.now()
    changed = Device.objects.filter(pk=device.pk, is_active=True).update(
        is_active=False, slot=None, revoked_at=now
    )
    if changed:
        device.is_active, device.slot, device.revoked_at = False, None, now
        broadcast.publish(
            [broadcast.device_group(device.pk)], {"type": "device.revoked", "device": device.pk}
        )
    return bool(changed)


def hello_many(credentials: list[tuple[object, object]]) -> list[Device | None]:
    """A socket's hello for many devices at once: each (public id, token) pair's device, or None.

    One query, and no write: a reconnecting class would otherwise write every
    device's row in the same seconds. The device's use is recorded by its
    first heartbeat (attendance/presence.py), which a socket sends at once.
    """
    wanted: dict[int, uuid.UUID] = {}
    for index, (public_id, token) in enumerate(credentials):
        if not isinstance(public_id, str) or not isinstance(token, str) or len(token) > 200:
            continue
        try:
            wanted[index] = uuid.UUID(public_id)
        except ValueError:
            continue
    found = (
        {
            device.public_id: device
            for device in Device.objects.select_related("student").filter(
                public_id__in=set(wanted.values()), is_active=True, student__is_active=True
            )
        }
        if wanted
        else {}
    )
    greeted: list[Device | None] = []
    for index, (_public_id, token) in enumerate(credentials):
        device = found.get(wanted.get(index))
        greeted.append(device if device and secret_matches(token, device.token_hash) else None)
    return greeted


def hello_device(*, public_id: str, token: str) -> Device | None:
    """One socket's hello (see hello_many)."""
    return hello_many([(public_id, token)])[0]
