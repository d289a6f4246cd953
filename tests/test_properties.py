"""Property-based tests (hypothesis) of the header parser and the token format (§2, §3).

Examples are derandomized, so every run (and CI) tries the same ones. The database rows
a test needs are made once per test, before its examples; the examples only read them,
so sharing one transaction across examples (pytest-django's) is harmless.
"""

from __future__ import annotations

import secrets
import string
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from durin import crypto, legacy
from durin.auth import CachedTokenAuthentication, TokenAuthentication
from durin.constants import CHECKSUM_LENGTH, MAX_TOKEN_LENGTH, MIN_RANDOM_CHARACTERS
from durin.models import AuthToken

EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: The 401 details of CONTRACT §3, and DRF's own for a request no class authenticated.
REFUSALS = {
    "Invalid token header. No credentials provided.",
    "Invalid token header. Token string should not contain spaces.",
    "Invalid token header. Token string should not contain invalid characters.",
    "Invalid token.",
    "The given token has expired.",
    "User inactive or deleted.",
}
NOT_AUTHENTICATED = "Authentication credentials were not provided."

#: Stands for the issued token in generated headers; each test substitutes it.
ISSUED = "\x00ISSUED\x00"
TOKEN_ALPHABET = string.ascii_letters + string.digits + "_"

#: Mostly the separators a client sends; sometimes whitespace that is not ASCII's.
spaces = st.sampled_from(["", " ", "\t"]) | st.text(
    alphabet=" \t\r\n\x0b\x0c\xa0\x85\u2003", max_size=3
)
durin_scheme = st.sampled_from(["Token", "token", "TOKEN", "ToKeN"])
schemes = st.one_of(
    durin_scheme, durin_scheme, st.sampled_from(["Bearer", ""]), st.text(max_size=6)
)
credentials = st.one_of(
    st.just(ISSUED),
    st.builds(lambda a, b: a + ISSUED + b, st.text(max_size=2), st.text(max_size=2)),
    st.text(alphabet=TOKEN_ALPHABET, min_size=30, max_size=70),
    st.text(max_size=70),
)
structured = st.builds(
    lambda *parts: "".join(parts),
    spaces,
    schemes,
    st.sampled_from([" ", "  ", "\t"]) | spaces,
    credentials,
    spaces,
)
#: The scheme first, as every real client sends it: the parser's interesting cases.
scheme_first = st.builds(
    lambda *parts: "".join(parts),
    durin_scheme,
    st.sampled_from([" ", "  ", "\t"]),
    credentials,
    st.sampled_from(["", " "]) | spaces,
)
#: Text as a WSGI server hands it over (or beyond Latin-1, which none can), and raw bytes.
header_values = st.one_of(
    scheme_first,
    scheme_first.map(lambda value: value.encode("utf-8")),
    structured,
    structured.map(lambda value: value.encode("utf-8")),
    st.text(max_size=80),
    st.binary(max_size=80),
    st.binary(max_size=70).map(lambda raw: b"Token " + raw),
)


def with_token(value: str | bytes, token: str) -> str | bytes:
    if isinstance(value, bytes):
        return value.replace(ISSUED.encode(), token.encode())
    return value.replace(ISSUED, token)


def words(value: str | bytes) -> list[bytes] | None:
    """The header's words as durin reads them; None for text no WSGI server could send."""
    if isinstance(value, str):
        try:
            value = value.encode("iso-8859-1")
        except UnicodeEncodeError:
            return None
    return value.split()


def presents_durin_scheme(value: str | bytes) -> bool:
    """Whether the header's first word is the scheme, whatever follows."""
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "backslashreplace")
    parts = raw.split()
    return bool(parts) and parts[0].lower() == b"token"


def is_exactly(value: str | bytes, token: str) -> bool:
    """Whether the header is the scheme and ``token``, with any whitespace around them."""
    parts = words(value)
    return (
        parts is not None
        and len(parts) == 2
        and parts[0].lower() == b"token"
        and (parts[1] == token.encode())
    )


@pytest.mark.parametrize("auth_class", [TokenAuthentication, CachedTokenAuthentication])
@EXAMPLES
@given(value=header_values)
def test_any_header_authenticates_only_the_issued_token(auth_class, token, value):
    value = with_token(value, token.token)
    request = Request(APIRequestFactory().get("/", HTTP_AUTHORIZATION=value))
    try:
        result = auth_class().authenticate(request)
    except exceptions.AuthenticationFailed as exc:
        assert presents_durin_scheme(value)
        assert str(exc.detail) in REFUSALS
        return
    if result is None:
        assert not presents_durin_scheme(value)
    else:
        assert is_exactly(value, token.token)
        assert result[1].pk == token.pk


@pytest.mark.parametrize("url", ["/api/whoami/", "/api/cached/whoami/", "/api/auth/sessions/"])
@EXAMPLES
@given(value=header_values)
def test_any_header_through_drf_is_a_200_for_the_issued_token_else_a_401(api, token, url, value):
    value = with_token(value, token.token)
    response = api.get(url, HTTP_AUTHORIZATION=value)
    if is_exactly(value, token.token):
        event("200")  # see --hypothesis-show-statistics
        assert response.status_code == 200, response.content
        return
    assert response.status_code == 401, (response.status_code, response.content)
    event(f"401 {response.json()['detail']}")
    assert response.json()["detail"] in REFUSALS | {NOT_AUTHENTICATED}
    assert response["WWW-Authenticate"].startswith("Token")


def test_the_canonical_header_does_authenticate(api, token):
    """The property above would hold vacuously if no generated header ever succeeded."""
    for value in (f"Token {token}", f"token  {token}", f"TOKEN\t{token} ".encode()):
        assert api.get("/api/whoami/", HTTP_AUTHORIZATION=value).status_code == 200


valid_formats = st.tuples(
    st.integers(min_value=MIN_RANDOM_CHARACTERS + CHECKSUM_LENGTH, max_value=MAX_TOKEN_LENGTH),
    st.text(alphabet=TOKEN_ALPHABET, max_size=40),
).filter(lambda f: crypto.random_length(*f) >= MIN_RANDOM_CHARACTERS)


@EXAMPLES
@given(token_format=valid_formats)
def test_issued_tokens_have_the_configured_shape_and_authenticate(user, web, token_format):
    length, prefix = token_format
    with override_settings(REST_DURIN={"TOKEN_CHARACTER_LENGTH": length, "TOKEN_PREFIX": prefix}):
        issued = AuthToken.objects.create(user, web)
        token = issued.token
        assert len(token) == length and token.startswith(prefix)
        assert set(token) <= set(TOKEN_ALPHABET)
        assert crypto.has_valid_checksum(token)
        assert TokenAuthentication.authenticate_credentials(token)[1].pk == issued.pk


def mutations(token: str) -> st.SearchStrategy[str]:
    """One character of ``token`` replaced, deleted, or added."""
    positions = st.integers(min_value=0, max_value=len(token) - 1)
    others = st.characters(codec="utf-8")
    return st.one_of(
        st.builds(lambda i, c: token[:i] + c + token[i + 1 :], positions, others),
        st.builds(lambda i: token[:i] + token[i + 1 :], positions),
        st.builds(lambda i, c: token[:i] + c + token[i:], positions, others),
    ).filter(lambda mutated: mutated != token)


@pytest.mark.parametrize("auth_class", [TokenAuthentication, CachedTokenAuthentication])
@EXAMPLES
@given(data=st.data())
def test_any_one_character_change_is_refused_without_a_query(auth_class, token, data):
    mutated = data.draw(mutations(token.token))
    with (
        CaptureQueriesContext(connection) as queries,
        pytest.raises(exceptions.AuthenticationFailed) as refused,
    ):
        auth_class.authenticate_credentials(mutated)
    assert refused.value.get_codes() == "token_invalid"
    assert queries.captured_queries == []


@EXAMPLES
@given(
    text=st.one_of(
        st.text(max_size=100),
        st.text(alphabet=TOKEN_ALPHABET, min_size=39, max_size=100),
        st.text(alphabet="0123456789abcdef", min_size=8, max_size=128),  # 1.x-shaped
    )
)
def test_made_up_tokens_are_refused(token: Any, text: str):
    """Refused without a query: no 1.x token is here, so not even 1.x's shape costs one (§12).

    The process learns that with one query, made here first.
    """
    legacy.forget()
    legacy.accepts_legacy_tokens(timezone.now())
    with (
        CaptureQueriesContext(connection) as queries,
        pytest.raises(exceptions.AuthenticationFailed),
    ):
        TokenAuthentication.authenticate_credentials(text)
    assert queries.captured_queries == []


@pytest.fixture
def upgraded_from_1x(user: Any, web: Any) -> Any:
    """A row as migration 0005 left a 1.x token: created before it was applied, still live."""
    app, name = legacy.HASHING_MIGRATION
    applied = MigrationRecorder.Migration.objects.get(app=app, name=name).applied
    AuthToken(
        digest=crypto.digest(secrets.token_hex(32)),
        user=user,
        client=web,
        created=applied - timedelta(days=1),
        expiry=timezone.now() + timedelta(days=1),
    ).save(force_insert=True)
    yield
    legacy.forget()


@EXAMPLES
@given(
    text=st.one_of(
        st.text(max_size=100),
        st.text(alphabet="0123456789abcdef", min_size=1, max_size=130),
        st.text(alphabet="0123456789abcdefABCDEF", min_size=2, max_size=66),
    )
)
def test_where_1x_tokens_live_only_their_exact_shape_costs_a_lookup(
    token: Any, upgraded_from_1x: None, text: str
):
    """Lowercase hex of an even length up to 64: one lookup (of the tokens, then of the
    rotation history); anything else: none (§7, §9, §12)."""
    legacy.forget()
    assert legacy.accepts_legacy_tokens(timezone.now())
    with (
        CaptureQueriesContext(connection) as queries,
        pytest.raises(exceptions.AuthenticationFailed),
    ):
        TokenAuthentication.authenticate_credentials(text)
    hex_digits = set("0123456789abcdef")
    shaped = 0 < len(text) <= 64 and len(text) % 2 == 0 and set(text) <= hex_digits
    event(f"1.x-shaped: {shaped}")
    assert len(queries.captured_queries) == (2 if shaped else 0)
