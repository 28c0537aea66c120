"""Who may see and record fees.

Staff may do everything. The "Office" group holds the payments
permissions; anyone granted those permissions (by the group or directly) may
see or record fees. Lecturers see attendance but no fee data unless granted.
"""

from django.contrib.auth.models import AbstractBaseUser, Group, Permission

# The school office. Named "Fees office" before the office also kept the roster.
FEES_OFFICE_GROUP = "Office"

VIEW_FEES_PERMISSION = "payments.view_payment"
RECORD_PAYMENTS_PERMISSION = "payments.add_payment"

# What the Office group is given: see everything of the ledger, record
# payments and adjustments, void payments. Never change or delete.
FEES_OFFICE_PERMISSIONS = [
    "view_term",
    "view_charge",
    "add_charge",
    "view_payment",
    "add_payment",
    "view_paymentreversal",
    "add_paymentreversal",
    "view_duedateextension",
    "add_duedateextension",
    "change_duedateextension",
]


def can_view_fees(user: AbstractBaseUser | None) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_staff or user.has_perm(VIEW_FEES_PERMISSION)


def can_record_payments(user: AbstractBaseUser | None) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_staff or user.has_perm(RECORD_PAYMENTS_PERMISSION)


def can_void_payments(user: AbstractBaseUser | None) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_staff or user.has_perm("payments.add_paymentreversal")


def can_adjust_charges(user: AbstractBaseUser | None) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_staff or user.has_perm("payments.add_charge")


def ensure_fees_office_group() -> Group:
    """The Office group with its fee permissions; creates or completes it."""
    group, _ = Group.objects.get_or_create(name=FEES_OFFICE_GROUP)
    perms = Permission.objects.filter(
        content_type__app_label="payments", codename__in=FEES_OFFICE_PERMISSIONS
    )
    group.permissions.add(*perms)
    return group
