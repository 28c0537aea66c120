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
