"""Views for tests/test_regressions_async2.py, with a URLconf.

Class-based views guarded the way the README says to (``method_decorator(token_required,
name=...)`` on one method), a sync and an async one, and everything tests/urls.py routes.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.views import View

from durin.auth import CachedTokenAuthentication
from durin.decorators import token_required

from . import urls as tests_urls


def _whoami(request: HttpRequest) -> dict[str, Any]:
    return {"username": request.user.get_username()}


@method_decorator(token_required, name="get")
@method_decorator(token_required, name="post")
class Notes(View):
    """Each method guarded, as the README shows."""

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(_whoami(request))

    def post(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(_whoami(request), status=201)


_cached = token_required(authentication_class=CachedTokenAuthentication)


@method_decorator(_cached, name="get")
@method_decorator(_cached, name="post")
class AsyncNotes(View):
    async def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(_whoami(request))

    async def post(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(_whoami(request), status=201)


urlpatterns: list[Any] = [
    *tests_urls.urlpatterns,
    path("atk2/notes/", Notes.as_view(), name="atk2-notes"),
    path("atk2/async-notes/", AsyncNotes.as_view(), name="atk2-async-notes"),
]
