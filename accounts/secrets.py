"""Random secrets for links and printed codes, kept only as keyed hashes."""

import hmac
import secrets as _random

from django.utils.crypto import salted_hmac

# No 0/O, 1/I/L: a printed code is read aloud and typed by hand.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12  # 31**12: about 59 bits, and sign-in attempts are locked out after 5


def new_token() -> str:
    return _random.token_urlsafe(32)


def new_code() -> str:
    raw = "".join(_random.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def hash_secret(value: str, *, purpose: str) -> str:
    # Keyed with SECRET_KEY: a leaked table alone does not let anyone test guesses.
    return salted_hmac(f"rollcall.accounts.{purpose}", value, algorithm="sha256").hexdigest()


def secret_matches(value: str, stored: str, *, purpose: str) -> bool:
    return hmac.compare_digest(hash_secret(value, purpose=purpose), stored)
