"""What the student pages keep: who revoked a device, when and why."""

from django.conf import settings
from django.db import models

from attendance.models import Device


class DeviceRevocation(models.Model):
    """The audit row of one revoked device: the office's reset, the student's replacement,
    or staff revoking it (through the API or the admin).

    One row per device (a device is revoked once), written in the transaction
    that revokes it, so a revoked device's row says who did it and why.
    """

    class Kind(models.TextChoices):
        RESET = "reset", "Reset by the office"
        REPLACED = "replaced", "Replaced by the student"
        REVOKED = "revoked", "Revoked by staff"

    device = models.OneToOneField(Device, on_delete=models.CASCADE, related_name="revocation")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.CharField(max_length=300)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="device_revocations",
    )
    revoked_at = models.DateTimeField()
    replaced_by = models.OneToOneField(
        Device,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replaces",
        help_text="The device registered in its place, for a replacement.",
    )

    class Meta:
        ordering = ["-revoked_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["reset", "replaced", "revoked"]),
                name="revocation_kind_valid",
            ),
            models.CheckConstraint(condition=~models.Q(reason=""), name="revocation_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.device} {self.kind} at {self.revoked_at:%Y-%m-%d %H:%M}"

    def summary(self) -> str:
        """How the device went, for the office: "reset by jdoe", "replaced by the student".

        Names the user who did it when one is known (load revoked_by with the row).
        """
        if self.revoked_by is not None and self.kind != self.Kind.REPLACED:
            verb = "reset" if self.kind == self.Kind.RESET else "revoked"
            return f"{verb} by {self.revoked_by.get_username()}"
        return self.get_kind_display().lower()
