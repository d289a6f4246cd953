"""durin's token authentication for plain Django views, sync and async."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions

from .auth import TokenAuthentication, attach

View = TypeVar("View", bound=Callable[..., Any])


def token_required(
    view: View | None = None,
    *,
    authentication_class: type[TokenAuthentication] = TokenAuthentication,
) -> Any:
    """Let only requests with a valid durin token reach ``view``; others get 401 JSON.

    ``@token_required`` or ``@token_required(authentication_class=CachedTokenAuthentication)``
    on a sync or async view. The view sees ``request.user`` (also ``await request.auser()``)
    and ``request.auth``, the ``AuthToken``. The 401 has DRF's body (``{"detail": ...}``,
    the messages of durin's DRF classes) and ``WWW-Authenticate`` challenge. The view is
    exempt from CSRF checks, as DRF's views are (a token is not a cookie, a browser never
    sends one by itself), and from ``LoginRequiredMiddleware``.
    """

    def decorate(view: View) -> View:
        authentication = authentication_class()
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                try:
                    found = await authentication.aauthenticate(request)
                except exceptions.AuthenticationFailed as exc:
                    return _unauthorized(request, authentication, exc.detail)
                if found is None:
                    return _unauthorized(request, authentication)
                attach(request, *found)
                return await view(request, *args, **kwargs)

        else:

            @functools.wraps(view)
            def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                try:
                    found = authentication.authenticate(request)
                except exceptions.AuthenticationFailed as exc:
                    return _unauthorized(request, authentication, exc.detail)
                if found is None:
                    return _unauthorized(request, authentication)
                attach(request, *found)
                return view(request, *args, **kwargs)

        wrapper.csrf_exempt = True  # type: ignore[attr-defined]
        # The view answers for itself, as DRF's do: Django's LoginRequiredMiddleware (5.1+)
        # would send a request with a valid token to the login page.
        wrapper.login_required = False  # type: ignore[attr-defined]
        wrapper.durin_authentication_class = authentication_class  # type: ignore[attr-defined]  # durin.E011
        return wrapper  # type: ignore[return-value]

    return decorate if view is None else decorate(view)


def _unauthorized(
    request: HttpRequest, authentication: TokenAuthentication, detail: Any = None
) -> HttpResponse:
    """401 as DRF answers it: ``{"detail": ...}`` and the class's challenge."""
    if detail is None:
        detail = exceptions.NotAuthenticated.default_detail
    response = JsonResponse({"detail": str(detail)}, status=401)
    response["WWW-Authenticate"] = authentication.authenticate_header(request)
    return response
