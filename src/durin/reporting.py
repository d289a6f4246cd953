"""Keeps durin's secrets out of Django's error reports (the DEBUG page, admin mails).

Django's own filter hides what code marked sensitive, by name, and only when
``DEBUG`` is off. A password or a token can sit in any frame an exception passes
through (DRF's ``AuthTokenSerializer``, an authentication backend, a project's
``USER_SERIALIZER``), under any name. So durin hides them by value: a request that
carries one gets ``SecretFilter`` as its ``exception_reporter_filter``, which asks
the project's default filter first, then replaces every value in which one of the
request's secrets appears. The secrets are a token in the ``Authorization`` header
(read only when a report is made) and those ``hide`` recorded: the login password,
an issued token's plaintext.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pprint import pformat
from typing import Any

from django.views.debug import SafeExceptionReporterFilter, get_default_exception_reporter_filter

SUBSTITUTE = SafeExceptionReporterFilter.cleansed_substitute

#: Words of an ``Authorization`` header shorter than this cannot be a token.
MIN_HEADER_SECRET = 8


def http_request(request: Any) -> Any:
    """The ``HttpRequest`` Django's reporter sees (DRF's ``Request`` wraps it)."""
    return getattr(request, "_request", request)


def _as_text(secret: Any) -> str | None:
    """A secret as DRF's ``CharField`` reads it (a JSON number is a password too)."""
    if isinstance(secret, bool) or not isinstance(secret, (str, int, float)):
        return None
    return str(secret) or None


def hide(request: Any, *secrets: Any) -> None:
    """Keep ``secrets`` out of reports on ``request`` (values that are no text are ignored)."""
    http = http_request(request)
    known = http.__dict__.setdefault("_durin_secrets", [])
    known.extend(text for text in map(_as_text, secrets) if text)
    http.exception_reporter_filter = FILTER


def _spellings(secret: str) -> set[str]:
    """How ``secret`` reads in a report: as is, inside a ``repr``, inside a bytes ``repr``."""
    return {secret, repr(secret)[1:-1], repr(secret.encode("utf-8", "replace"))[2:-1]}


class _Shown:
    """A value the report shows as ``text`` (the reporter calls ``pformat`` on it)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class SecretFilter:
    """The project's default filter, then every value holding this request's secrets hidden."""

    def __getattr__(self, name: str) -> Any:
        return getattr(get_default_exception_reporter_filter(), name)

    @staticmethod
    def secrets(request: Any) -> set[str]:
        found = list(getattr(request, "_durin_secrets", ()))
        header = getattr(request, "META", {}).get("HTTP_AUTHORIZATION", "")
        if isinstance(header, bytes):
            header = header.decode("iso-8859-1")
        found.extend(w for w in str(header).split()[1:] if len(w) >= MIN_HEADER_SECRET)
        return {spelling for secret in found for spelling in _spellings(secret)}

    @staticmethod
    def _hidden(value: Any, secrets: set[str]) -> Any:
        if not secrets:
            return value
        try:
            # Unwrapped: pprint splits a long string with spaces over several literals.
            text = value if isinstance(value, str) else pformat(value, width=sys.maxsize)
        except Exception:  # noqa: BLE001  # the reporter prints its own "Error in formatting"
            return value
        if any(secret in text for secret in secrets):
            return _Shown(SUBSTITUTE) if not isinstance(value, str) else SUBSTITUTE
        return value

    def _all_hidden(self, request: Any, items: Iterable[tuple[Any, Any]]) -> dict[Any, Any]:
        secrets = self.secrets(request)
        return {key: self._hidden(value, secrets) for key, value in items}

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        default = get_default_exception_reporter_filter()
        variables = default.get_traceback_frame_variables(request, tb_frame)
        return self._all_hidden(request, variables).items()

    def get_safe_request_meta(self, request: Any) -> dict[str, Any]:
        meta = get_default_exception_reporter_filter().get_safe_request_meta(request)
        return self._all_hidden(request, meta.items())

    def get_safe_cookies(self, request: Any) -> dict[str, Any]:
        cookies = get_default_exception_reporter_filter().get_safe_cookies(request)
        return self._all_hidden(request, cookies.items())

    def get_post_parameters(self, request: Any) -> dict[str, Any]:
        post = get_default_exception_reporter_filter().get_post_parameters(request)
        return self._all_hidden(request, post.items())


FILTER = SecretFilter()
