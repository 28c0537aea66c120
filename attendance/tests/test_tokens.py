import pytest

from attendance.models import ApiToken
from attendance.tokens import (
    authenticate_api_token,
    create_api_token,
    hash_secret,
    revoke_api_token,
    secret_matches,
)

pytestmark = pytest.mark.django_db


def test_a_new_key_is_stored_only_as_a_hash_and_authenticates(staff_user):
    token, key = create_api_token(user=staff_user, name="reports")
    token.refresh_from_db()
    assert key.startswith(token.prefix + ".")
    assert token.key_hash == hash_secret(key) and key not in token.key_hash
    found = authenticate_api_token(key)
    assert found == token and found.user == staff_user
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("key", ["", "nodot", "abc.def", None, "x." + "y" * 300])
def test_bad_keys_do_not_authenticate(staff_user, key):
    create_api_token(user=staff_user, name="reports")
    assert authenticate_api_token(key) is None


def test_a_revoked_key_no_longer_authenticates(staff_user):
    token, key = create_api_token(user=staff_user, name="reports")
    revoke_api_token(token=token)
    token.refresh_from_db()
    assert not token.is_active and token.revoked_at is not None
    assert authenticate_api_token(key) is None


def test_a_key_with_a_valid_prefix_but_wrong_secret_fails(staff_user):
    token, _key = create_api_token(user=staff_user, name="reports")
    assert authenticate_api_token(f"{token.prefix}.wrong") is None
    assert ApiToken.objects.get().last_used_at is None


def test_secret_matches_only_the_same_secret():
    assert secret_matches("abc", hash_secret("abc"))
    assert not secret_matches("abd", hash_secret("abc"))
