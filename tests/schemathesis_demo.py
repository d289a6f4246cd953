"""Fuzz the demo's durin endpoints from the demo's own OpenAPI schema, with schemathesis.

Run by ``test_schemathesis.py`` in a subprocess, with the demo's settings on a throwaway
SQLite file (``DURIN_DEMO_SQLITE_PATH``): the schema is fetched through WSGI, then every
operation gets generated requests, valid and invalid, with a fresh durin token and with
whatever ``Authorization`` header schemathesis makes up. A response must not be a server
error, and its status, content type, headers and body must be the ones the schema
documents. Prints one report per failing operation and exits 1 if there is any.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "example_project"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

import django

django.setup()

import schemathesis
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from durin.constants import INTROSPECT_SCOPE
from durin.models import AuthToken, Client, LoginFailureCount
from durin.settings import durin_settings

MAX_EXAMPLES = int(os.environ.get("DURIN_SCHEMATHESIS_EXAMPLES", "50"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,  # the same cases on every run: a failure in CI reproduces locally
    suppress_health_check=list(HealthCheck),
)
API_ACCESS_CLIENT = durin_settings.API_ACCESS_CLIENT_NAME
#: (operation, status) -> responses, printed so that a run shows what it reached.
SEEN: Counter[tuple[str, int]] = Counter()


def fresh_token(client_name: str = "schemathesis", **fields) -> AuthToken:
    """A new token of the demo user, for a client without a session limit.

    A new one for every request: logout, logout-all and session deletes revoke tokens.
    """
    client, _ = Client.objects.get_or_create(
        name=client_name, defaults={"session_limit": None, **fields}
    )
    user = get_user_model().objects.get(username="demo")
    return AuthToken.objects.create(user, client)


def send(case, token: AuthToken | None = None) -> None:
    """Sends an explicit case (with ``token``) and checks the answer against the schema."""
    headers = {"Authorization": f"Token {token}"} if token else None
    response = case.call(headers=headers)
    SEEN[case.operation.label, response.status_code] += 1
    case.validate_response(response, checks=CHECKS, headers=headers)


def fuzz(operation, mode: GenerationMode, with_token: bool) -> None:
    # An id that is not a number never reaches durin: Django's resolver answers its own 404.
    # Negative cases keep a well-formed one, so that they go to durin malformed elsewhere.
    fixed = {"id": 1} if mode is GenerationMode.NEGATIVE and "{id}" in operation.path else None
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)

    @given(case=strategy)
    @HYPOTHESIS
    def check(case) -> None:
        send(case, fresh_token() if with_token else None)

    check()


def keys_reached(operation) -> None:
    """keys/: creating and rolling need a recently proved password and room under the
    key client's limit; deleting and rolling need a key."""
    token = fresh_token()
    AuthToken.objects.filter(pk=token.pk).update(authenticated_at=timezone.now())
    AuthToken.objects.filter(user=token.user, client__name=API_ACCESS_CLIENT).delete()
    if operation.path == "/api/auth/keys/":
        body = {"name": "schemathesis", "scopes": None, "expires_in": 60}
        send(operation.Case(body=body, media_type="application/json"), token)
        return
    key = AuthToken.objects.create(
        token.user, Client.objects.get(name=API_ACCESS_CLIENT), name="fuzzed"
    )
    case = operation.Case(path_parameters={"id": key.pk})
    if operation.method == "post":
        case = operation.Case(
            path_parameters={"id": key.pk}, body={"grace": 0}, media_type="application/json"
        )
    send(case, token)


def answers_random_data_never_reaches(operation) -> None:
    """Successes random data never gets: logging in, a session or an API key that exists."""
    if operation.path == "/api/auth/login/":
        for media_type in ("application/json", "application/x-www-form-urlencoded"):
            body = {"username": "demo", "password": "demo-password", "client": "web"}
            send(operation.Case(body=body, media_type=media_type))
    elif operation.path == "/api/auth/sessions/{id}":
        current, other = fresh_token(), fresh_token()
        for session in (current, other):  # 400 (the current session), then 204
            send(operation.Case(path_parameters={"id": session.pk}), current)
    elif operation.path == "/api/auth/reauthenticate/":
        LoginFailureCount.objects.all().delete()  # the fuzzing's wrong passwords throttle
        body = {"password": "demo-password"}
        send(operation.Case(body=body, media_type="application/json"), fresh_token())
    elif operation.path == "/api/auth/refresh/":  # a rotating client answers a new token
        send(operation.Case(), fresh_token("schemathesis-rotating", rotate_on_refresh=True))
    elif operation.path == "/api/auth/introspect/":  # a caller with the scope, a real token
        caller = fresh_token()
        caller = AuthToken.objects.create(caller.user, caller.client, scopes=[INTROSPECT_SCOPE])
        body = {"token": str(fresh_token())}
        send(operation.Case(body=body, media_type="application/json"), caller)
    elif operation.path == "/api/auth/apiaccess/":
        token = fresh_token()
        keys = AuthToken.objects.filter(user=token.user, client__name=API_ACCESS_CLIENT)
        keys.delete()
        if operation.method != "post":  # GET and DELETE need a key; POST needs none
            AuthToken.objects.create(token.user, Client.objects.get(name=API_ACCESS_CLIENT))
        send(operation.Case(), token)
    elif operation.path.startswith("/api/auth/keys/"):
        keys_reached(operation)
    statuses = {status for (label, status) in SEEN if label == operation.label}
    assert statuses & {200, 201, 204}, (operation.label, statuses)


def main() -> int:
    logging.disable(logging.WARNING)  # Django logs every 4xx
    # Each login attempt hashes a password, known user or not: a fast hasher keeps the run
    # short (the schema is under test here, not PBKDF2).
    override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]).enable()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        if not operation.path.startswith("/api/auth/"):
            continue
        runs = [(mode, token) for mode in GenerationMode for token in (True, False)]
        if operation.path == "/api/auth/login/":
            runs = [(mode, False) for mode in GenerationMode]
        for mode, with_token in runs:
            try:
                fuzz(operation, mode, with_token)
            except (FailureGroup, Exception) as exc:  # noqa: BLE001  # reported, then the next run
                token = "with a token" if with_token else "without a token"
                failures.append(f"== {operation.label} ({mode.value}, {token})\n{exc}")
        answers_random_data_never_reaches(operation)
    print(f"{len(operations)} operations in the schema, {MAX_EXAMPLES} examples per run")
    for (label, status), count in sorted(SEEN.items()):
        print(f"{label}: {status} x{count}")
    print("\n\n".join(failures) or "no failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
