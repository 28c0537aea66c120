from django.contrib import admin
from django.http import HttpRequest

from attendance.admin import DeviceAdmin as AttendanceDeviceAdmin
from attendance.models import Device
from portal import devices
from portal.models import DeviceRevocation

ADMIN_REASON = "Revoked in the admin"


# attendance's device admin, whose revoke action also writes who revoked the device.
admin.site.unregister(Device)


@admin.register(Device)
class DeviceAdmin(AttendanceDeviceAdmin):
    def revoke(self, request: HttpRequest, device: Device) -> bool:
        return devices.revoke_as_staff(device=device, by=request.user, reason=ADMIN_REASON)


@admin.register(DeviceRevocation)
class DeviceRevocationAdmin(admin.ModelAdmin):
    """Who revoked which device, when and why: read only, written by portal/devices.py."""

    list_display = ("device", "kind", "reason", "revoked_by", "revoked_at")
    list_filter = ("kind",)
    list_select_related = ("device__student", "revoked_by")
    search_fields = ("device__student__student_number", "device__name", "reason")
    date_hierarchy = "revoked_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
