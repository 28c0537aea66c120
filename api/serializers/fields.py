"""Fields and base classes every resource's serializers share."""

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from payments.ledger import plain_amount

# Ids are 64-bit in the database; a larger number can only be a mistake.
MAX_ID = 2**63 - 1


class StrictSerializer(serializers.Serializer):
    """Rejects keys it does not know, so a misspelt field is an error, not a silent no-op."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {key: ["Unknown field."] for key in unknown}, code="unknown_field"
                )
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, not a string or a boolean that looks like one."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class TextField(serializers.CharField):
    """A JSON string, not a number turned into one. (CharField already refuses NUL and
    lone surrogates, which the database could not store.)"""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryIdField(serializers.IntegerField):
    """An id in a query string: plain decimal digits ("12"; not "1_2", " 12", "12.0" or
    other scripts' digits, which Python's int() would read as well)."""

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)

    def to_internal_value(self, data):
        if not (isinstance(data, str) and data.isascii() and data.isdigit()):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    """A UUID as a JSON string, not a number read as the UUID's 128 bits."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


def money_field(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$"}
)
class AmountField(serializers.DecimalField):
    """An amount of money as a decimal string ("80.00"); the ledger decides if it is acceptable."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=12, decimal_places=2, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and not plain_amount(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class EmptySerializer(StrictSerializer):
    """No body, or `{}`."""
