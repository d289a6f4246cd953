"""The server's routes: durin's views, and one async ninja operation under the cached class
that says whether its token came from the cache."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import include, path
from ninja import NinjaAPI

from durin.auth import CachedTokenAuthentication
from durin.contrib.ninja import TokenAuth, handle_refusals

api = NinjaAPI(
    auth=TokenAuth(CachedTokenAuthentication), urls_namespace="durin-asgi", docs_url=None
)
handle_refusals(api)


@api.get("/whoami")
async def whoami(request: HttpRequest) -> dict[str, Any]:
    user = await request.auser()  # type: ignore[attr-defined]
    return {
        "username": user.get_username(),
        "client": request.auth.client.name,  # type: ignore[attr-defined]
        # Set by durin on a token served from the cache (a test's look inside, not an API).
        "from_cache": getattr(request.auth, "_durin_cached", False),  # type: ignore[attr-defined]
    }


urlpatterns = [
    path("api/auth/", include("durin.urls")),
    path("ninja/", api.urls),
]
