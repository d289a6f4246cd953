"""Token generation, checksums and digests: pure standard library, no Django.

A token is ``<prefix><random base62><checksum>``. The checksum is a CRC32 of
everything before it, so a mistyped, truncated or made-up token is refused
before any database or cache lookup. Only ``digest(token)`` is ever stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import zlib

from .constants import CHECKSUM_LENGTH, HINT_MAX_LENGTH, MAX_TOKEN_LENGTH, MIN_RANDOM_CHARACTERS

BASE62 = string.digits + string.ascii_letters
TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9_]+")
PREFIX_CHARACTERS = re.compile(r"[A-Za-z0-9_]*")
#: django-rest-durin 1.x issued ``hexlify(urandom(int(TOKEN_CHARACTER_LENGTH / 2)))``:
#: lowercase hex of an even length, kept in the ``varchar(64)`` column of its first
#: migration, which PostgreSQL and MariaDB (strict mode) enforce.
LEGACY_TOKEN = re.compile(r"(?:[0-9a-f]{2}){1,32}")


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        chars.append(BASE62[rest])
    return "".join(reversed(chars))


def checksum(body: str) -> str:
    """The checksum characters that end a token whose other characters are ``body``."""
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def random_length(length: int, prefix: str) -> int:
    """How many random characters a token of ``length`` with ``prefix`` carries."""
    return length - len(prefix) - CHECKSUM_LENGTH


def generate_token(length: int, prefix: str = "") -> str:
    """A new token of exactly ``length`` characters, ``prefix`` and checksum included."""
    if not PREFIX_CHARACTERS.fullmatch(prefix):
        raise ValueError("TOKEN_PREFIX may only contain the characters [A-Za-z0-9_].")
    random_chars = random_length(length, prefix)
    if random_chars < MIN_RANDOM_CHARACTERS:
        raise ValueError(
            f"TOKEN_CHARACTER_LENGTH {length} leaves {random_chars} random characters after "
            f"the prefix and checksum; at least {MIN_RANDOM_CHARACTERS} are needed."
        )
    if length > MAX_TOKEN_LENGTH:  # authentication would refuse every such token
        raise ValueError(
            f"TOKEN_CHARACTER_LENGTH {length} is over {MAX_TOKEN_LENGTH}, the longest token "
            "durin accepts."
        )
    body = prefix + "".join(secrets.choice(BASE62) for _ in range(random_chars))
    return body + checksum(body)


def has_valid_checksum(token: str) -> bool:
    """Whether ``token`` is well formed; whatever prefix or length it was issued with."""
    if len(token) < MIN_RANDOM_CHARACTERS + CHECKSUM_LENGTH or not TOKEN_CHARACTERS.fullmatch(
        token
    ):
        return False
    body, check = token[:-CHECKSUM_LENGTH], token[-CHECKSUM_LENGTH:]
    return secrets.compare_digest(checksum(body), check)


def is_legacy_token(token: str) -> bool:
    """Whether ``token`` has the shape of a token django-rest-durin 1.x can have issued."""
    return LEGACY_TOKEN.fullmatch(token) is not None


def digest(token: str) -> str:
    """The unkeyed SHA-256 of ``token``: what the database stores and the cache is keyed by."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hint(token: str, prefix: str) -> str:
    """``prefix…abcd``: the token's prefix and its last four characters, which are checksum
    characters (a function of the rest, so they reveal nothing of the secret part)."""
    return f"{prefix[: HINT_MAX_LENGTH - 5]}\u2026{token[-4:]}"
