"""Values that shape the schema or the token format: constants, never settings."""

from __future__ import annotations

from typing import Final

#: Length of a hex SHA-256 digest, the only form in which a token is stored.
DIGEST_LENGTH: Final = 64

#: Characters of base62 checksum at the end of every token (CRC32 fits in six).
CHECKSUM_LENGTH: Final = 6

#: Random base62 characters needed for at least 192 bits (62**33 > 2**196).
MIN_RANDOM_CHARACTERS: Final = 33

#: Longest token durin issues or reads: longer credentials are refused without hashing them.
MAX_TOKEN_LENGTH: Final = 512

#: Longest user agent kept with a session; longer ones are truncated.
USER_AGENT_MAX_LENGTH: Final = 256

#: Namespace of durin's cache entries, followed by the token digest.
CACHE_KEY_PREFIX: Final = "durin:token:"

#: Largest request body durin's views read; larger ones get 413 before parsing.
MAX_REQUEST_BODY: Final = 64 * 1024

#: Longest password ``reauthenticate/`` hashes; a longer one is a field error, never hashed.
MAX_PASSWORD_LENGTH: Final = 4096

#: The scope a key must name explicitly to use ``introspect/`` (always a valid scope name).
INTROSPECT_SCOPE: Final = "durin:introspect"

#: Longest name a user may give an API key.
KEY_NAME_MAX_LENGTH: Final = 100

#: Longest token hint: a prefix (at most ``MAX_TOKEN_LENGTH`` is too long to show; a
#: prefix is a few characters), an ellipsis and four characters.
HINT_MAX_LENGTH: Final = 40

#: Tokens one ``revoke/`` request may name.
MAX_REVOKE_TOKENS: Final = 100

#: The longest grace (in seconds) a roll may leave the API key it replaces: 7 days.
MAX_ROLL_GRACE_SECONDS: Final = 7 * 24 * 3600
