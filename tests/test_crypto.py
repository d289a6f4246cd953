"""The token format of CONTRACT §2."""

from __future__ import annotations

import math
import re
import secrets

import pytest

from durin import crypto
from durin.constants import MAX_TOKEN_LENGTH


def test_format():
    token = crypto.generate_token(64)
    assert len(token) == 64 and re.fullmatch(r"[A-Za-z0-9_]+", token)
    assert crypto.has_valid_checksum(token)
    prefixed = crypto.generate_token(64, "durin_")
    assert prefixed.startswith("durin_") and len(prefixed) == 64


def test_at_least_192_bits():
    assert math.log2(62) * crypto.random_length(64, "") > 192
    with pytest.raises(ValueError):
        crypto.generate_token(38)
    assert math.log2(62) * 33 >= 192


def test_no_longer_than_authentication_reads():
    """Found by hypothesis: a 513-character token was issued, then refused as too long."""
    assert len(crypto.generate_token(MAX_TOKEN_LENGTH)) == MAX_TOKEN_LENGTH
    with pytest.raises(ValueError, match="over 512"):
        crypto.generate_token(MAX_TOKEN_LENGTH + 1)


def test_every_single_character_change_is_caught():
    token = crypto.generate_token(64)
    for i, char in enumerate(token):
        for other in "aZ09_":
            if other != char:
                assert not crypto.has_valid_checksum(token[:i] + other + token[i + 1 :])


@pytest.mark.parametrize("bad", ["", "a", "é" * 64, "a b", "x" * 38])
def test_malformed(bad):
    assert not crypto.has_valid_checksum(bad)


def test_legacy_shape():
    assert crypto.is_legacy_token("0123456789abcdef" * 4)
    assert not crypto.is_legacy_token("0123456789ABCDEF" * 4)
    assert not crypto.is_legacy_token(crypto.generate_token(64))


@pytest.mark.parametrize("setting", [*range(2, 66), 128])
def test_legacy_shape_is_what_1x_issued_and_stored(setting):
    """1.x: hexlify(urandom(int(TOKEN_CHARACTER_LENGTH / 2))) into a varchar(64) column."""
    issued = secrets.token_bytes(int(setting / 2)).hex()
    assert crypto.is_legacy_token(issued) == (len(issued) <= 64)


@pytest.mark.parametrize("length", [1, 7, 9, 63, 65, 66, 128])
def test_legacy_shape_refuses_lengths_1x_never_stored(length):
    assert not crypto.is_legacy_token("a" * length)


def test_digest_is_unkeyed_sha256():
    assert (
        crypto.digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
