"""Attack (§12 "No secret in an error report"): pprint wraps a long string that holds
whitespace into several literals, so a long passphrase inside a container local is no
longer one substring of the report text SecretFilter searches, and Django prints it
in pieces."""

from __future__ import annotations


import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.urls import reverse
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PASSPHRASE = (
    "correct horse battery staple and then some more words "
    "so that my passphrase is long enough to be safe"
)


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("fmt", ["json", "multipart"])
def test_attack2_long_passphrase_is_wrapped_past_the_filter(
    settings, reports, monkeypatch, debug, fmt, make_client
):
    settings.DEBUG = debug
    get_user_model().objects.create_user(username="alice", password=PASSPHRASE)
    make_client("web")

    def failing(self, user):
        raise RuntimeError("the user lookup broke")

    monkeypatch.setattr(ModelBackend, "user_can_authenticate", failing)
    body = {"username": "alice", "password": PASSPHRASE, "client": "web"}
    response = APIClient(raise_request_exception=False).post(
        reverse("durin_login"), body, format=fmt
    )
    assert response.status_code == 500
    [report] = reports
    # Each word-run of the passphrase that pprint put on a line of its own:
    pieces = [w for w in ("so that my passphrase is long enough", "correct horse battery")]
    for piece in pieces:
        assert piece not in report, f"{piece!r} of the password is in the report"


@pytest.mark.xfail(
    strict=True,
    reason="known limit (docs): Django renders an exception's message without asking the "
    "request's filter; durin never puts a secret in a message of its own",
)
@pytest.mark.parametrize("debug", [False, True])
def test_attack2_a_token_in_the_exception_message_is_reported(
    settings, reports, monkeypatch, debug, token
):
    """SecretFilter hides frame variables, META, cookies and POST, never the exception's
    own message (``exception_value``, also the page's <title>): any failure whose message
    quotes the Authorization header's token (a project's check, a driver error echoing a
    value) prints the plaintext. The trigger here is synthetic; the gap is the filter's."""
    from durin import services

    from .conftest import auth_header

    header = auth_header(token)
    plaintext = header["HTTP_AUTHORIZATION"].split()[1]

    def failing(auth_token, now):
        raise RuntimeError(f"refusing malformed credential {plaintext}")

    settings.DEBUG = debug
    monkeypatch.setattr(services, "record_use", failing)
    response = APIClient(raise_request_exception=False).get(reverse("whoami"), **header)
    assert response.status_code == 500
    [report] = reports
    assert plaintext not in report
