"""Money display: one currency (settings.CURRENCY), always two decimals."""

from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings

register = template.Library()


@register.filter
def money(value, currency: str | None = None) -> str:
    """`{{ amount|money }}` -> "USD 1,234.50"; empty for None."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{currency or settings.CURRENCY} {amount:,.2f}"


@register.filter
def amount(value) -> str:
    """Two decimals without the currency, for table cells under a currency heading."""
    if value is None or value == "":
        return ""
    try:
        return f"{Decimal(str(value)).quantize(Decimal('0.01')):,.2f}"
    except (InvalidOperation, ValueError):
        return str(value)


def _signed(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        signed = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None
    return abs(signed) if signed == 0 else signed  # SQLite's float sums can give -0.00


@register.filter
def balance(value, currency: str | None = None) -> str:
    """A balance with its currency; what the school owes the student reads as credit:
    `{{ -30|balance }}` -> "Credit USD 30.00", never "USD -30.00"."""
    signed = _signed(value)
    if signed is None:
        return money(value, currency)
    if signed < 0:
        return f"Credit {money(-signed, currency)}"
    return money(signed, currency)


@register.filter
def balance_amount(value) -> str:
    """A balance without the currency, for table cells: "40.00", or "Credit 30.00"."""
    signed = _signed(value)
    if signed is None:
        return amount(value)
    if signed < 0:
        return f"Credit {amount(-signed)}"
    return amount(signed)
