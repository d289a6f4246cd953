"""docs/endpoints.md, replayed: every example request is sent in document order and its
response checked (status, the headers shown, the JSON body), so the page cannot rot.
The settings, clients and users the examples need are read from the page itself.
``tests/http_examples.py`` says how an example is written."""

from __future__ import annotations

import ast
import io
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from django import test as django_test
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import URLPattern, resolve
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from durin import urls as durin_urls
from durin.auth import TokenAuthentication
from durin.models import AuthToken, Client

from . import http_examples
from .conftest import PASSWORD
from .http_examples import ANY, Bindings, Example, ExampleError

pytestmark = pytest.mark.django_db

PAGE = Path(__file__).resolve().parent.parent / "docs" / "endpoints.md"
#: The users the page names, each with the tests' password (the page spells it out too).
USERS = ("alice", "bob", "carol")


def fenced(markdown: str, language: str) -> list[str]:
    return [
        match.group(3)
        for match in http_examples.FENCE.finditer(markdown)
        if match.group(1) == language
    ]


def only_block(markdown: str, language: str) -> str:
    blocks = fenced(markdown, language)
    assert len(blocks) == 1, f"the page has {len(blocks)} {language} blocks; the test reads one"
    return blocks[0]


def page_settings(markdown: str) -> dict[str, Any]:
    """``REST_DURIN`` from the page's one ``python`` block, read without running it."""
    (statement,) = ast.parse(only_block(markdown, "python")).body
    assert isinstance(statement, ast.Assign) and statement.targets[0].id == "REST_DURIN"
    return ast.literal_eval(statement.value)


def create_clients(markdown: str) -> None:
    """Run the page's one ``sh`` block, which may only create clients."""
    for line in only_block(markdown, "sh").splitlines():
        words = shlex.split(line)
        assert words[:3] == ["python", "manage.py", "create_client"], line
        call_command(*words[2:], stdout=io.StringIO())


def padded_body(length: int) -> bytes:
    """A JSON object of exactly ``length`` bytes."""
    start, end = b'{"padding": "', b'"}'
    return start + b"x" * (length - len(start) - len(end)) + end


def send(test_client: django_test.Client, example: Example, bindings: Bindings) -> Any:
    request = example.request
    headers = {name: bindings.fill(value, example.line) for name, value in request.headers.items()}
    content_type = headers.pop("Content-Type", "application/octet-stream")
    length = headers.pop("Content-Length", None)
    if request.body == ANY:
        body = padded_body(int(length))
    else:
        body = bindings.fill(request.body, example.line).encode()
        assert length is None or int(length) == len(body), example.line
    return test_client.generic(
        request.method,
        bindings.fill(request.path, example.line),
        data=body,
        content_type=content_type,
        headers=headers,
    )


def replay(markdown: str, bindings: Bindings) -> list[Example]:
    """Send every example of ``markdown`` in order and check each answer; returns them."""
    test_client = django_test.Client()
    run = []
    for example in http_examples.examples(markdown):
        for _ in range(example.request.times):
            response = send(test_client, example, bindings)
            http_examples.check(
                example, response.status_code, response.headers, response.content, bindings
            )
        run.append(example)
    return run


@pytest.fixture
def page_world(settings: Any, make_user: Any) -> Bindings:
    """The settings, clients and users the page describes; Bob's token as ``$BOB_TOKEN``."""
    markdown = PAGE.read_text()
    settings.REST_DURIN = page_settings(markdown)
    create_clients(markdown)
    users = {name: make_user(name) for name in USERS}
    assert PASSWORD in markdown
    bob_token = AuthToken.objects.create(users["bob"], Client.objects.get(name="web"))
    return Bindings({"BOB_TOKEN": bob_token.token})


def test_every_example_answers_as_written(page_world: Bindings) -> None:
    markdown = PAGE.read_text()
    run = replay(markdown, page_world)
    # Every http block was one half of an example that was sent and checked: none was
    # indented (a list item's), where the fence pattern would not see it.
    assert len(run) * 2 == len(fenced(markdown, "http")) == markdown.count("```http")
    assert len(run) > 50


def named_url_patterns() -> set[str]:
    return {p.name for p in durin_urls.urlpatterns if isinstance(p, URLPattern) and p.name}


def test_every_url_name_has_an_example() -> None:
    shown = set()
    for example in http_examples.examples(PAGE.read_text()):
        path = re.sub(r"\$[A-Z][A-Z0-9_]*", "1", example.request.path)
        shown.add(resolve(path).url_name)
    assert named_url_patterns() - shown == set()


def test_every_method_of_apiaccess_and_keys_has_an_example() -> None:
    shown = {
        (re.sub(r"\$[A-Z][A-Z0-9_]*", "<id>", e.request.path), e.request.method)
        for e in http_examples.examples(PAGE.read_text())
    }
    for method in ("GET", "POST", "DELETE"):
        assert ("/api/auth/apiaccess/", method) in shown
    for needed in [
        ("/api/auth/keys/", "GET"),
        ("/api/auth/keys/", "POST"),
        ("/api/auth/keys/<id>", "DELETE"),
        ("/api/auth/keys/<id>/roll/", "POST"),
        ("/api/auth/sessions/", "GET"),
        ("/api/auth/sessions/<id>", "DELETE"),
    ]:
        assert needed in shown


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("HTTP/1.1 400 Bad Request", "HTTP/1.1 401 Unauthorized"),  # a status
        ('{"expiry": "…", "token": "$TOKEN"}', '{"expires": "…", "token": "$TOKEN"}'),  # a key
        ("no-store\nPragma: no-cache", "private\nPragma: no-cache"),  # a header
        ('"has_expired": false', '"has_expired": "…"'),  # a placeholder of the wrong type
        ('"revoked": 1', '"revoked": 2'),  # a value
        ("Authorization: Token $TOKEN", "Authorization: Token $TOKN"),  # a name never set
        ('title="Sent 10 times"', 'title="Sent 11 times"'),  # a count (the 11th gets 429)
    ],
)
def test_a_page_that_drifted_fails(page_world: Bindings, old: str, new: str) -> None:
    markdown = PAGE.read_text()
    assert old in markdown
    with pytest.raises(ExampleError):
        replay(markdown.replace(old, new, 1), page_world)


@pytest.mark.parametrize(
    "block",
    [
        "GET api/auth/sessions/ HTTP/1.1",  # no leading slash
        "GET /api/auth/sessions/",  # no version
        "FETCH /api/auth/sessions/ HTTP/1.1",
        "POST /api/auth/refresh/ HTTP/1.1\nAuthorization Token x",  # not a header
        "POST /api/auth/login/ HTTP/1.1\n\n{}",  # a body with no Content-Type
        "POST /api/auth/login/ HTTP/1.1\nContent-Type: application/json\n\n…",  # no length
    ],
)
def test_a_request_block_that_cannot_be_read_fails(block: str) -> None:
    page = f"```http\n{block}\n```\n\n```http\nHTTP/1.1 200 OK\n```\n"
    with pytest.raises(ExampleError):
        http_examples.examples(page)


@pytest.mark.parametrize("title", ['title="Sent ten times"', 'title="Refresh"', "{.http}"])
def test_a_request_title_other_than_a_count_fails(title: str) -> None:
    page = (
        f"```http {title}\nPOST /api/auth/refresh/ HTTP/1.1\n```\n\n```http\nHTTP/1.1 200 OK\n```\n"
    )
    with pytest.raises(ExampleError):
        http_examples.examples(page)


@pytest.mark.parametrize(
    "block",
    [
        "HTTP/1.1 200 Fine",  # the wrong reason
        "200 OK",
        'HTTP/1.1 200 OK\n\n{"detail": }',  # not JSON
    ],
)
def test_a_response_block_that_cannot_be_read_fails(block: str) -> None:
    page = f"```http\nPOST /api/auth/refresh/ HTTP/1.1\n```\n\n```http\n{block}\n```\n"
    with pytest.raises(ExampleError):
        http_examples.examples(page)


def test_a_request_without_its_response_fails() -> None:
    with pytest.raises(ExampleError):
        http_examples.examples("```http\nPOST /api/auth/refresh/ HTTP/1.1\n```\n")


def test_placeholders() -> None:
    bindings = Bindings()
    expected = http_examples.expected_json(
        '{"id": $ID, "n": …, "t": "$T", "s": "in … s", "a": "…"}', 1
    )
    http_examples.match(expected, {"id": 7, "n": 1.5, "t": "x", "s": "in 9 s", "a": ""}, bindings)
    assert bindings.values == {"ID": 7, "T": "x"}
    http_examples.match(expected, {"id": 7, "n": 2, "t": "x", "s": "in 12 s", "a": "b"}, bindings)
    for wrong in [
        {"id": 8, "n": 1, "t": "x", "s": "in 9 s", "a": ""},  # $ID was 7
        {"id": 7, "n": "1", "t": "x", "s": "in 9 s", "a": ""},  # … outside quotes: a number
        {"id": 7, "n": True, "t": "x", "s": "in 9 s", "a": ""},  # a boolean is no number
        {"id": 7, "n": 1, "t": "x", "s": "at 9 s", "a": ""},
        {"id": 7, "n": 1, "t": "x", "s": "in 9 s", "a": None},  # "…" is a string
        {"id": 7, "n": 1, "t": "x", "s": "in 9 s"},  # a key missing
        {"id": 7, "n": 1, "t": "x", "s": "in 9 s", "a": "", "b": 1},  # a key too many
    ]:
        with pytest.raises(ExampleError):
            http_examples.match(expected, wrong, bindings)


# --- The authentication-error table ------------------------------------------------------
#
# test_auth.py pins these details and codes too (test_refused_headers,
# test_error_codes_are_stable, test_bytes_that_are_not_utf8_are_refused,
# test_expired_token_is_refused_deleted_and_signalled), as do test_async.py's sync cases for
# expired tokens and inactive users; this test holds the page's table to them.


def table_rows(markdown: str) -> dict[str, tuple[str, str]]:
    """The table under "## Authentication errors": request -> (detail, code)."""
    section = markdown.split("## Authentication errors", 1)[1]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("request", "---"):
            rows[cells[0]] = tuple(cell.strip("`") for cell in cells[1:])
    return rows


def authenticate(header: str | bytes) -> Any:
    request = Request(APIRequestFactory().get("/", HTTP_AUTHORIZATION=header))
    return TokenAuthentication().authenticate(request)


def refusal(header: str | bytes) -> tuple[str, str]:
    with pytest.raises(Exception) as raised:
        authenticate(header)
    detail = raised.value.detail
    return str(detail), detail.code


def expired_token() -> str:
    token = AuthToken.objects.create(
        get_user_model().objects.get(), Client.objects.create(name="a")
    )
    AuthToken.objects.filter(pk=token.pk).update(expiry=token.created)
    return token.token


def inactive_users_token() -> str:
    token = AuthToken.objects.create(
        get_user_model().objects.get(), Client.objects.create(name="b")
    )
    get_user_model().objects.update(is_active=False)
    return token.token


def test_the_authentication_error_table(make_user: Any) -> None:
    make_user("alice")
    rows = table_rows(PAGE.read_text())
    assert authenticate("Basic YWxpY2U6eA==") is None and authenticate("") is None
    assert rows.pop("no header, another scheme") == ("(not durin's: the next class may try)", "")
    refused = {
        "prefix alone": lambda: refusal("Token"),
        "more than one word": lambda: refusal("Token a b"),
        "bytes that are not UTF-8": lambda: refusal(b"Token \xff\xfe".decode("latin-1")),
        "malformed or unknown": lambda: refusal("Token not-a-token"),
        "expired (the token is deleted, `token_expired` sent)": lambda: refusal(
            f"Token {expired_token()}"
        ),
        "inactive user": lambda: refusal(f"Token {inactive_users_token()}"),
    }
    assert set(rows) == set(refused)
    for request, (detail, code) in rows.items():
        assert refused[request]() == (detail, code), request
