"""Text a record may hold: no control characters.

Names, numbers and codes are single lines of printable text. A NUL is refused by
PostgreSQL, a line break in a name breaks the mail subjects it goes into, and
none of them belongs in a register or on a receipt.
"""

import re

from django.core.exceptions import ValidationError

# Unicode's control characters (category Cc), lone surrogates (Cs), and the line
# and paragraph separators (Zl, Zp): one pass of a compiled class.
UNWRITABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")


def unwritable_character(text: str) -> str | None:
    """The first character of `text` that no record may hold, if any."""
    found = UNWRITABLE.search(text)
    return found.group() if found else None


def no_control_characters(value: str) -> None:
    if (char := unwritable_character(value or "")) is not None:
        raise ValidationError(
            "Remove the control character (U+%(code)04X): names and codes are one line of text.",
            code="control_character",
            params={"code": ord(char)},
        )
