"""The student's, the office's and staff's device changes, each with its audit row.

The rules of devices (slots, the limit, revoking) stay in attendance/devices.py;
this module adds who did it and why, in the same transaction.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from attendance.devices import DeviceNotActive, replace_device, revoke_device
from attendance.models import Device, Student
from portal.models import DeviceRevocation

REASON_MAX = 300


class InvalidReason(ValueError):
    """A reset needs a reason of at most REASON_MAX characters."""


def replace_my_device(
    *, student: Student, old_device_id: int, name: str, by: AbstractBaseUser
) -> tuple[Device, str]:
    """The student's "replace my old phone": revoke one of their active devices and
    register this browser in its slot. Returns the new device and its token (shown once).

    Raises DeviceNotActive when the device is not theirs or no longer active
    (another replacement or a reset got there first); nothing changes then.
    """
    old = Device.objects.filter(pk=old_device_id, student=student).first()
    if old is None:
        raise DeviceNotActive("No such device of yours.")
    with transaction.atomic():
        device, token = replace_device(student=student, old_device=old, name=name)
        DeviceRevocation.objects.create(
            device=old,
            kind=DeviceRevocation.Kind.REPLACED,
            reason=f"Replaced by {device.name}",
            revoked_by=by,
            revoked_at=old.revoked_at,
            replaced_by=device,
        )
    return device, token


def revoke_as_staff(*, device: Device, by: AbstractBaseUser, reason: str) -> bool:
    """Staff revoking one device (the API's revoke, admin's action), recording who and why.

    True if this call revoked it; one already revoked is left as it is, with its
    first audit row. A missing or too long reason raises InvalidReason and
    changes nothing.
    """
    reason = _checked(reason, "revoking the device")
    return bool(
        _revoke_recorded([device], kind=DeviceRevocation.Kind.REVOKED, by=by, reason=reason)
    )


def _checked(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidReason(f"Give a reason for {what}.")
    if len(reason) > REASON_MAX:
        raise InvalidReason(f"Keep the reason to {REASON_MAX} characters.")
    if "\x00" in reason:
        raise InvalidReason("A reason cannot contain a null character.")
    return reason


def reset_devices(
    *, student: Student, device_ids: list[int], by: AbstractBaseUser, reason: str
) -> list[Device]:
    """The office's reset: revoke the named active devices of `student`, recording who and why.

    Returns the devices this call revoked (one already revoked is skipped, so two
    clerks resetting at once write one audit row per device). A missing or too
    long reason raises InvalidReason and changes nothing.
    """
    reason = _checked(reason, "the reset")
    return _revoke_recorded(
        Device.objects.filter(student=student, pk__in=device_ids, is_active=True),
        kind=DeviceRevocation.Kind.RESET,
        by=by,
        reason=reason,
    )


def _revoke_recorded(
    devices, *, kind: DeviceRevocation.Kind, by: AbstractBaseUser, reason: str
) -> list[Device]:
    """Revoke `devices` and write an audit row for each one this call revoked (one
    already revoked, by a racing call, is skipped), in one transaction."""
    revoked: list[Device] = []
    with transaction.atomic():
        # A student has at most a few active devices: one update each.
        for device in devices:
            if revoke_device(device=device):
                revoked.append(device)
        DeviceRevocation.objects.bulk_create(
            DeviceRevocation(
                device=device, kind=kind, reason=reason, revoked_by=by, revoked_at=device.revoked_at
            )
            for device in revoked
        )
    return revoked
