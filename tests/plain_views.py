"""Plain Django views guarded by ``durin.decorators.token_required``, sync and async, for
tests/test_decorators.py."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from durin.auth import CachedTokenAuthentication
from durin.decorators import token_required
from durin.models import AuthToken


def _seen(request: HttpRequest, auser: Any = None) -> JsonResponse:
    auth = request.auth  # type: ignore[attr-defined]
    return JsonResponse(
        {
            "username": request.user.get_username(),
            "auser": None if auser is None else auser.get_username(),
            "auth_is_token": isinstance(auth, AuthToken),
            "token_id": auth.pk,
            "client": auth.client.name,
            "same_user": auth.user is request.user,
            "method": request.method,
        }
    )


@token_required
def sync_view(request: HttpRequest) -> JsonResponse:
    """Who is asking, synchronously."""
    return _seen(request)


@token_required
async def async_view(request: HttpRequest) -> JsonResponse:
    """Who is asking, asynchronously."""
    return _seen(request, await request.auser())  # type: ignore[attr-defined]


@token_required(authentication_class=CachedTokenAuthentication)
def cached_sync_view(request: HttpRequest) -> JsonResponse:
    """Who is asking, synchronously, from the token cache."""
    return _seen(request)


@token_required(authentication_class=CachedTokenAuthentication)
async def cached_async_view(request: HttpRequest) -> JsonResponse:
    """Who is asking, asynchronously, from the token cache."""
    return _seen(request, await request.auser())  # type: ignore[attr-defined]


def unguarded_post(request: HttpRequest) -> JsonResponse:
    """No decorator: CSRF applies, as to any Django view."""
    return JsonResponse({"method": request.method})


#: name in the URL -> view
VIEWS = {
    "plain-sync": sync_view,
    "plain-async": async_view,
    "cached-sync": cached_sync_view,
    "cached-async": cached_async_view,
}
