from decimal import Decimal

from payments.templatetags.money import amount, money


def test_money_shows_the_currency_and_two_decimals(settings):
    settings.CURRENCY = "KES"
    assert money(Decimal("1234.5")) == "KES 1,234.50"
    assert money(Decimal("-30")) == "KES -30.00"
    assert money(None) == "—"


def test_amount_has_two_decimals_without_currency():
    assert amount(Decimal("40")) == "40.00"
    assert amount(None) == ""
