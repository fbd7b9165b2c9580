"""Key material: shapes, checksums and digests."""

import re

import pytest

from apikeys import crypto


def test_access_key_is_twenty_upper_case_letters_and_digits():
    assert re.fullmatch(r"[A-Z0-9]{20}", crypto.generate_access_key())


def test_secret_key_is_at_least_forty_alphanumerics_with_prefix_and_valid_checksum():
    secret = crypto.generate_secret_key()
    assert re.fullmatch(r"[A-Za-z0-9]{40,}", secret)
    assert secret.startswith(crypto.SECRET_KEY_PREFIX)
    assert crypto.is_well_formed_secret_key(secret)


def test_secret_keys_carry_at_least_192_random_bits():
    # 40 characters drawn from 62 symbols carry 40 * log2(62) bits of entropy.
    import math

    assert crypto.SECRET_RANDOM_LENGTH * math.log2(62) >= 192


def test_one_changed_character_breaks_the_checksum():
    secret = crypto.generate_secret_key()
    position = len(crypto.SECRET_KEY_PREFIX) + 3
    replacement = "A" if secret[position] != "A" else "B"
    assert not crypto.is_well_formed_secret_key(secret[:position] + replacement + secret[position + 1 :])


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("envk", id="prefix-only"),
        pytest.param("x" * 50, id="no-prefix"),
        pytest.param("envk" + "a" * 45 + "!", id="bad-character"),
        pytest.param("envk" + "a" * 60, id="too-long"),
    ],
)
def test_malformed_secrets_are_not_well_formed(value):
    assert not crypto.is_well_formed_secret_key(value)


def test_digest_is_tagged_and_verifies_only_the_same_secret():
    secret = crypto.generate_secret_key()
    stored = crypto.hash_secret(secret)
    assert stored.startswith("sha256$")
    assert secret not in stored
    assert crypto.verify_secret(secret, stored)
    assert not crypto.verify_secret(crypto.generate_secret_key(), stored)


def test_digest_with_unknown_algorithm_never_verifies():
    secret = crypto.generate_secret_key()
    assert not crypto.verify_secret(secret, crypto.hash_secret(secret).replace("sha256$", "md5$"))


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        pytest.param(lambda secret: repr({"secret_key": secret}), True, id="in-a-dict-repr"),
        pytest.param(lambda secret: f"curl -u EKABCDEFGHIJKLMNOPQR:{secret} http://x/", True, id="in-a-curl-line"),
        pytest.param(lambda secret: secret[:-1], False, id="one-character-short"),
        pytest.param(lambda secret: "the secret key is shown once", False, id="no-secret"),
    ],
)
def test_text_holding_something_shaped_like_a_secret_key_is_recognised(text, holds):
    assert crypto.contains_secret_key(text(crypto.generate_secret_key())) is holds
