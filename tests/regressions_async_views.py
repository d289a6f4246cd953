"""Views and django-ninja operations for tests/test_regressions_async.py, with a URLconf.

A project's own authentication classes (refusing tokens of the ``cli`` client, the way a
project adds a rule of its own), guarding ``token_required`` views and ninja operations, sync
and async; views that check the caller's password; a class-based view whose ``get`` alone
is decorated. The URLconf also routes everything tests/urls.py routes (durin's views, the
DRF views of tests/views.py).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.views import View
from rest_framework.exceptions import AuthenticationFailed

from durin.auth import CachedTokenAuthentication, TokenAuthentication
from durin.decorators import token_required
from durin.models import AuthToken

from . import urls as tests_urls
from .conftest import PASSWORD

#: The client whose tokens the project's classes below refuse.
REFUSED_CLIENT = "cli"


def _refuse_cli(found: tuple[Any, AuthToken] | None) -> tuple[Any, AuthToken] | None:
    if found is not None and found[1].client.name == REFUSED_CLIENT:
        raise AuthenticationFailed("Not for command-line clients.", code="cli_refused")
    return found


class CachedRefusingCliCredentials(CachedTokenAuthentication):
    """1.x's hook: ``authenticate_credentials`` (1.x's cached class overrode it too)."""

    @classmethod
    def authenticate_credentials(cls, token: bytes | str) -> tuple[Any, AuthToken]:
        return _refuse_cli(super().authenticate_credentials(token))  # type: ignore[return-value]


class RefusingCliRequests(TokenAuthentication):
    """DRF's hook: ``authenticate``."""

    def authenticate(self, request: Any) -> tuple[Any, AuthToken] | None:
        return _refuse_cli(super().authenticate(request))


class CachedRefusingCliRequests(CachedTokenAuthentication):
    def authenticate(self, request: Any) -> tuple[Any, AuthToken] | None:
        return _refuse_cli(super().authenticate(request))


#: name in the URL -> a project's class
PROJECT_CLASSES: dict[str, type[TokenAuthentication]] = {
    "cached-credentials": CachedRefusingCliCredentials,
    "plain-authenticate": RefusingCliRequests,
    "cached-authenticate": CachedRefusingCliRequests,
}


def _whoami(request: HttpRequest) -> dict[str, Any]:
    return {"username": request.user.get_username()}


def _password_checked(request: HttpRequest) -> dict[str, Any]:
    """What an async "confirm your password" endpoint does with the user it was handed."""
    return {"password_ok": request.user.check_password(PASSWORD)}


urlpatterns: list[Any] = [*tests_urls.urlpatterns]

for _name, _class in PROJECT_CLASSES.items():

    @token_required(authentication_class=_class)
    def _sync_view(request: HttpRequest) -> JsonResponse:
        return JsonResponse(_whoami(request))

    @token_required(authentication_class=_class)
    async def _async_view(request: HttpRequest) -> JsonResponse:
        return JsonResponse(_whoami(request))

    urlpatterns += [
        path(f"atk/plain/{_name}/sync/", _sync_view),
        path(f"atk/plain/{_name}/async/", _async_view),
    ]


@token_required(authentication_class=CachedTokenAuthentication)
async def password_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_password_checked(request))


urlpatterns.append(path("atk/plain/password/", password_view))


class Report(View):
    """Only ``get`` is guarded, as ``method_decorator(login_required)`` is often applied."""

    @method_decorator(token_required)
    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(_whoami(request))


try:
    from ninja import NinjaAPI
except ImportError:  # an optional extra: without it, the plain views only
    NinjaAPI = None
else:
    from durin.contrib.ninja import TokenAuth, handle_refusals

    def _api(name: str, auth: Any) -> Any:
        api = NinjaAPI(urls_namespace=f"durin-atk-{name}", docs_url=None, auth=auth)
        handle_refusals(api)
        return api

    for _name, _class in PROJECT_CLASSES.items():
        _built = _api(_name, TokenAuth(_class))

        @_built.get("/sync")
        def _sync_operation(request: HttpRequest) -> dict[str, Any]:
            return _whoami(request)

        @_built.get("/async")
        async def _async_operation(request: HttpRequest) -> dict[str, Any]:
            return _whoami(request)

        urlpatterns.append(path(f"atk/ninja/{_name}/", _built.urls))

    password_api = _api("password", TokenAuth(CachedTokenAuthentication))

    @password_api.get("/")
    async def password_operation(request: HttpRequest) -> dict[str, Any]:
        return _password_checked(request)

    urlpatterns.append(path("atk/ninja/password/", password_api.urls))
