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


def test_a_negative_balance_reads_as_credit_not_minus(settings):
    from payments.templatetags.money import balance, balance_amount

    settings.CURRENCY = "USD"
    assert balance(Decimal("-30")) == "Credit USD 30.00"
    assert balance(Decimal("40")) == "USD 40.00"
    assert balance(Decimal("-0.00")) == "USD 0.00"
    assert balance_amount(Decimal("-1234.5")) == "Credit 1,234.50"
    assert balance_amount(Decimal("40")) == "40.00"
    assert balance_amount(None) == ""
