"""What the tests that start real servers in subprocesses share: a JSON call over HTTP that
never raises for an error status, and an admin connection to PostgreSQL."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings


def http_call(
    port: int, method: str, path: str, token: str | None = None, body: Any = None
) -> tuple[int, Any, bytes]:
    """``(status, headers, raw body)`` of a request to 127.0.0.1:``port``."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def postgres_admin() -> Any:
    """A connection to the test server's ``postgres`` database, to create and drop others."""
    import psycopg

    database = settings.DATABASES["default"]
    return psycopg.connect(
        host=database["HOST"],
        port=database["PORT"],
        user=database["USER"],
        dbname="postgres",
        autocommit=True,
    )
