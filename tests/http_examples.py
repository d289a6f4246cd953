"""HTTP examples written in Markdown, read and checked against real responses.

An example is a fenced ``http`` block holding a request, followed (prose may come between)
by a fenced ``http`` block holding its response::

    POST /api/auth/login/ HTTP/1.1             # 1: method, path and version
    Content-Type: application/json             # 2: headers, one a line
                                               # 3: a blank line, then the body
    {"username": "alice", "password": "..."}

    HTTP/1.1 200 OK                            # 1: status line (code and reason are checked)
    Cache-Control: no-store                    # 2: headers the response must carry
                                               # 3: a blank line, then the exact JSON body
    {"token": "$TOKEN", "expiry": "…"}

Placeholders stand for values that vary from run to run:

- ``"…"`` is any string; ``…`` inside a string is any text (``"in … seconds"``); ``…``
  outside a string is any number. In a header's value, ``…`` is any text.
- ``"$NAME"`` is a string and ``$NAME`` (unquoted) a number: the first time the name appears
  in a response it captures the value; after that it must equal it. In a request,
  ``$NAME`` is replaced by the value captured (a request cannot capture).
- A request block titled ``Sent N times`` (````` ```http title="Sent 10 times" `````) is sent
  N times; each answer must match.
- A request body of ``…`` with a ``Content-Length`` header is a body of that many bytes.

Parsing refuses anything else, so a block that does not say what it means fails loudly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

ANY = "…"
NAME = re.compile(r"\$([A-Z][A-Z0-9_]*)")
WHOLE_NAME = re.compile(r"^\$([A-Z][A-Z0-9_]*)$")
FENCE = re.compile(r"^```(\S*)([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/\S*) HTTP/1\.1$")
STATUS_LINE = re.compile(r"^HTTP/1\.1 (\d{3}) (.+)$")
REPEAT = re.compile(r'^ title="Sent (\d+) times"$')
HEADER = re.compile(r"^([A-Za-z][A-Za-z0-9-]*): (.*)$")

#: Stand-ins for the bare placeholders, which JSON cannot hold: a NUL never occurs in a body.
_ANY_NUMBER = "\x00number"
_NUMBER_NAMED = "\x00number:"


class ExampleError(AssertionError):
    """A block that cannot be read, or a response that differs from the one written."""


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: str
    times: int = 1


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str]
    body: str


@dataclass
class Example:
    line: int  # of the request block, for messages
    request: Request
    response: Response


@dataclass
class Bindings:
    """The values ``$NAME`` placeholders captured so far."""

    values: dict[str, Any] = field(default_factory=dict)

    def fill(self, text: str, line: int) -> str:
        """``text`` with every ``$NAME`` replaced by its value; an unknown name is an error."""

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.values:
                raise ExampleError(f"line {line}: ${name} is used before any response set it")
            return str(self.values[name])

        return NAME.sub(value, text)

    def capture(self, name: str, actual: Any, where: str) -> None:
        if name not in self.values:
            self.values[name] = actual
        elif self.values[name] != actual:
            raise ExampleError(f"{where}: ${name} was {self.values[name]!r}, now {actual!r}")


def examples(markdown: str) -> list[Example]:
    """Every example of ``markdown``, in order; any ``http`` block that is not part of a
    well-formed request and response pair is an ``ExampleError``."""
    blocks = [
        (markdown.count("\n", 0, match.start()) + 1, match.group(2), match.group(3))
        for match in FENCE.finditer(markdown)
        if match.group(1) == "http"
    ]
    if len(blocks) % 2:
        raise ExampleError(f"{len(blocks)} http blocks: every request needs its response")
    found = []
    for (line, title, request), (response_line, after, response) in zip(blocks[::2], blocks[1::2]):
        if after:
            raise ExampleError(f"line {response_line}: a response block takes no title")
        found.append(
            Example(
                line,
                parse_request(request, line, title),
                parse_response(response, response_line),
            )
        )
    return found


def _head_and_body(text: str) -> tuple[list[str], str]:
    head, _, body = text.partition("\n\n")
    return head.splitlines(), body.strip()


def _headers(lines: list[str], line: int) -> dict[str, str]:
    headers = {}
    for text in lines:
        match = HEADER.match(text)
        if match is None:
            raise ExampleError(f"line {line}: not a header: {text!r}")
        headers[match.group(1)] = match.group(2)
    return headers


def parse_request(text: str, line: int, title: str = "") -> Request:
    head, body = _head_and_body(text)
    times = 1
    if title:
        repeat = REPEAT.match(title)
        if repeat is None:
            raise ExampleError(f"line {line}: the only title a request takes is Sent N times")
        times = int(repeat.group(1))
    if not head or not REQUEST_LINE.match(head[0]):
        raise ExampleError(f"line {line}: a request block must start with METHOD /path HTTP/1.1")
    method, path = REQUEST_LINE.match(head[0]).groups()
    headers = _headers(head[1:], line)
    if body == ANY and "Content-Length" not in headers:
        raise ExampleError(f"line {line}: a body of {ANY} needs a Content-Length")
    if body and body != ANY and "Content-Type" not in headers:
        raise ExampleError(f"line {line}: a request with a body needs a Content-Type")
    return Request(method, path, headers, body, times)


#: RFC 9110's names where older Pythons (whose phrases Django sends) still use RFC 7231's.
RFC_9110_REASONS = {413: "Content Too Large", 414: "URI Too Long", 422: "Unprocessable Content"}


def reasons(status: int) -> set[str]:
    """The reason phrases a response with ``status`` may show: this Python's, and RFC 9110's."""
    return {HTTPStatus(status).phrase, RFC_9110_REASONS.get(status, HTTPStatus(status).phrase)}


def parse_response(text: str, line: int) -> Response:
    head, body = _head_and_body(text)
    match = STATUS_LINE.match(head[0]) if head else None
    if match is None:
        raise ExampleError(f"line {line}: a response block must start with HTTP/1.1 CODE REASON")
    status, reason = int(match.group(1)), match.group(2)
    if reason not in reasons(status):
        raise ExampleError(
            f"line {line}: {status} is {HTTPStatus(status).phrase!r}, not {reason!r}"
        )
    if body:
        expected_json(body, line)  # refused now if it is not JSON with placeholders
    return Response(status, reason, _headers(head[1:], line), body)


def _bare_placeholders(text: str) -> str:
    """``text`` with ``…`` and ``$NAME`` outside strings made strings JSON can hold."""
    out, i, in_string = [], 0, False
    while i < len(text):
        char = text[i]
        if in_string:
            out.append(char)
            if char == "\\":
                out.append(text[i + 1])
                i += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif char == ANY:
            out.append(json.dumps(_ANY_NUMBER))
        elif (match := NAME.match(text, i)) is not None:
            out.append(json.dumps(_NUMBER_NAMED + match.group(1)))
            i = match.end() - 1
        else:
            out.append(char)
        i += 1
    return "".join(out)


def expected_json(body: str, line: int) -> Any:
    try:
        return json.loads(_bare_placeholders(body))
    except json.JSONDecodeError as exc:
        raise ExampleError(f"line {line}: the body is not JSON: {exc}") from None


def _matches_text(pattern: str, actual: str) -> bool:
    parts = (re.escape(part) for part in pattern.split(ANY))
    return re.fullmatch(".*".join(parts), actual, re.DOTALL) is not None


def match(expected: Any, actual: Any, bindings: Bindings, where: str = "body") -> None:
    """Raise ``ExampleError`` unless ``actual`` is ``expected``, placeholders aside."""
    if isinstance(expected, str) and expected.startswith(_NUMBER_NAMED):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            raise ExampleError(f"{where}: expected a number, got {actual!r}")
        bindings.capture(expected[len(_NUMBER_NAMED) :], actual, where)
    elif expected == _ANY_NUMBER:
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            raise ExampleError(f"{where}: expected a number, got {actual!r}")
    elif isinstance(expected, str):
        if not isinstance(actual, str):
            raise ExampleError(f"{where}: expected a string, got {actual!r}")
        whole = WHOLE_NAME.match(expected)
        if whole is not None:
            bindings.capture(whole.group(1), actual, where)
        elif not _matches_text(expected, actual):
            raise ExampleError(f"{where}: expected {expected!r}, got {actual!r}")
    elif isinstance(expected, dict):
        if not isinstance(actual, dict) or set(expected) != set(actual):
            raise ExampleError(f"{where}: expected keys {sorted(expected)}, got {actual!r}")
        for key in expected:
            match(expected[key], actual[key], bindings, f"{where}.{key}")
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            raise ExampleError(f"{where}: expected {len(expected)} items, got {actual!r}")
        for index, (want, got) in enumerate(zip(expected, actual)):
            match(want, got, bindings, f"{where}[{index}]")
    elif type(expected) is not type(actual) or expected != actual:
        raise ExampleError(f"{where}: expected {expected!r}, got {actual!r}")


def check(example: Example, status: int, headers: Any, content: bytes, bindings: Bindings) -> None:
    """Raise ``ExampleError`` unless a response (its status, ``headers``, a mapping that
    ignores case, and ``content``) is the one ``example`` shows."""
    where = f"line {example.line} ({example.request.method} {example.request.path})"
    expected = example.response
    if status != expected.status:
        raise ExampleError(f"{where}: status {status}, not {expected.status}: {content[:500]!r}")
    for name, value in expected.headers.items():
        if name not in headers:
            raise ExampleError(f"{where}: no {name} header")
        pattern = bindings.fill(value, example.line)
        if not _matches_text(pattern, headers[name]):
            raise ExampleError(f"{where}: {name} is {headers[name]!r}, not {pattern!r}")
    if not expected.body:
        if content:
            raise ExampleError(f"{where}: a body the example does not show: {content[:500]!r}")
        return
    try:
        actual = json.loads(content)
    except json.JSONDecodeError:
        raise ExampleError(f"{where}: the response is not JSON: {content[:500]!r}") from None
    match(expected_json(expected.body, example.line), actual, bindings, f"{where} body")
