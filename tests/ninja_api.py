"""django-ninja APIs guarded by durin's ``TokenAuth``, for tests/test_ninja.py and the uvicorn
server of tests/test_asgi_server.py.

One API per (authentication class, ``handle_refusals`` or not), each with a sync and an async
operation that report what they were handed. Beside them, APIs that set ``auth=`` on a router
or on one operation, and one that lets another scheme follow durin's.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from ninja import NinjaAPI, Router
from ninja.security import HttpBasicAuth
from rest_framework.exceptions import AuthenticationFailed

from durin.auth import CachedTokenAuthentication, TokenAuthentication
from durin.contrib.ninja import TokenAuth, handle_refusals
from durin.models import AuthToken

CLASSES = {"plain": TokenAuthentication, "cached": CachedTokenAuthentication}


def _seen(request: HttpRequest) -> dict[str, Any]:
    """What an operation was handed: the user, and the token with the client it carries."""
    auth = request.auth  # type: ignore[attr-defined]
    return {
        "username": request.user.get_username(),
        "auth_is_token": isinstance(auth, AuthToken),
        "token_id": auth.pk if isinstance(auth, AuthToken) else None,
        "client": auth.client.name if isinstance(auth, AuthToken) else None,
        "same_user": isinstance(auth, AuthToken) and auth.user is request.user,
    }


def _with_operations(api: NinjaAPI | Router) -> None:
    @api.get("/sync")
    def sync_whoami(request: HttpRequest) -> dict[str, Any]:
        return {**_seen(request), "auser": None}

    @api.get("/async")
    async def async_whoami(request: HttpRequest) -> dict[str, Any]:
        user = await request.auser()  # type: ignore[attr-defined]
        return {**_seen(request), "auser": user.get_username()}


def _api(name: str, **kwargs: Any) -> NinjaAPI:
    return NinjaAPI(urls_namespace=f"durin-ninja-{name}", docs_url=None, **kwargs)


#: (class name, "challenge" or "body-only") -> API
APIS: dict[tuple[str, str], NinjaAPI] = {}
for _name, _class in CLASSES.items():
    for _refusals in ("challenge", "body-only"):
        _built = _api(f"{_name}-{_refusals}", auth=TokenAuth(_class))
        _with_operations(_built)
        if _refusals == "challenge":
            handle_refusals(_built)
        APIS[_name, _refusals] = _built


class RobotBasicAuth(HttpBasicAuth):
    """Another scheme: HTTP Basic for one robot account, answering a string."""

    def authenticate(self, request: HttpRequest, username: str, password: str) -> str | None:
        return "robot" if (username, password) == ("robot", "beep") else None


#: durin's scheme first, then HTTP Basic: a Basic header is not durin's, so ninja asks Basic.
either = _api("either", auth=[TokenAuth(CachedTokenAuthentication), RobotBasicAuth()])
handle_refusals(either)


@either.get("/sync")
def either_sync(request: HttpRequest) -> dict[str, Any]:
    return {"auth": request.auth if isinstance(request.auth, str) else "token"}  # type: ignore[attr-defined]


@either.get("/async")
async def either_async(request: HttpRequest) -> dict[str, Any]:
    return {"auth": request.auth if isinstance(request.auth, str) else "token"}  # type: ignore[attr-defined]


#: No API-wide auth: a router of guarded operations, one guarded operation, one open one.
scoped = _api("scoped")
handle_refusals(scoped)
guarded = Router(auth=TokenAuth(CachedTokenAuthentication))
_with_operations(guarded)
scoped.add_router("/router", guarded)


@scoped.get("/operation/async", auth=TokenAuth())
async def operation_async(request: HttpRequest) -> dict[str, Any]:
    user = await request.auser()  # type: ignore[attr-defined]
    return {**_seen(request), "auser": user.get_username()}


@scoped.get("/operation/sync", auth=TokenAuth())
def operation_sync(request: HttpRequest) -> dict[str, Any]:
    return {**_seen(request), "auser": None}


@scoped.get("/open")
def open_operation(request: HttpRequest) -> dict[str, Any]:
    return {"open": True}


class NoBannedUsers(CachedTokenAuthentication):
    """A project's subclass whose ``validate_user`` queries: it must never run on the loop."""

    @staticmethod
    def validate_user(auth_token: AuthToken) -> tuple[Any, AuthToken]:
        user, auth_token = CachedTokenAuthentication.validate_user(auth_token)
        if get_user_model().objects.filter(pk=user.pk, last_name="banned").exists():
            raise AuthenticationFailed("Banned.", code="banned")
        return user, auth_token


project = _api("project", auth=TokenAuth(NoBannedUsers))
handle_refusals(project)
_with_operations(project)
