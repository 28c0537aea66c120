"""Per-user sign-in records: web sessions, invitations, one-time codes, and import runs.

Secrets (invitation tokens, sign-in codes) are stored only as hashes. Each
"at most one open X per user" rule is a conditional unique constraint.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class UserSession(models.Model):
    """One signed-in web session, as the user's sessions page lists it.

    The session itself lives in Django's session store under the same key;
    ending it deletes that, and this row with it.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="web_sessions"
    )
    session_key = models.CharField(max_length=40, unique=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    signed_in_at = models.DateTimeField()
    # Written at most once per SESSION_ACTIVITY_SECONDS, never on every request.
    last_active_at = models.DateTimeField()
    remembered = models.BooleanField(default=False)
    # The channel-layer group of the key before the last change (a password change
    # cycles it): a socket that has not followed the session yet listens there, so
    # a sign-out is published to both.
    previous_group = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-last_active_at"]
        indexes = [models.Index(fields=["user", "-last_active_at"])]

    def __str__(self) -> str:
        return f"{self.user} since {self.signed_in_at:%Y-%m-%d %H:%M}"


class Invitation(models.Model):
    """A set-password link mailed to a new login; the token is kept only as a hash."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.user} ({self.email})"


class SignInCode(models.Model):
    """A one-time sign-in code printed for a school without email; single use, expiring."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_in_codes"
    )
    code_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(used_at__isnull=True, revoked_at__isnull=True),
                name="one_open_sign_in_code_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"Sign-in code for {self.user}"


class ImportRun(models.Model):
    """An uploaded file between its preview and its confirmation in admin.

    Kept in the database, not on one server's disk, so the confirmation may
    reach any server process. The content is dropped once the run is applied.
    """

    kind = models.CharField(max_length=20)
    filename = models.CharField(max_length=255)
    content = models.BinaryField(editable=False)
    sha256 = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    applied_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("import_school", "Can import and export the school's records")]

    def __str__(self) -> str:
        return f"{self.kind} from {self.filename}"


class StaleCachedSession(models.Model):
    """A web session deleted while its cached copy could not be deleted (Redis away).

    Redis may come back with its data, and serve the signed-out session from
    its cache: each row is deleted from the cache again once the cache answers
    (accounts/session_store.py), then dropped.
    """

    cache_key = models.CharField(max_length=255, unique=True)
    deleted_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.cache_key
