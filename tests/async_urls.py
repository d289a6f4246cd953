"""Routes for the ninja, decorator and ASGI tests: durin's own views (to log in and revoke),
the admin, the ninja APIs of tests/ninja_api.py and the views of tests/plain_views.py."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from . import plain_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/", include("durin.urls")),
    *(
        path(f"plain/{name}/", view, name=f"plain-{name}")
        for name, view in plain_views.VIEWS.items()
    ),
    path("plain/unguarded/", plain_views.unguarded_post, name="plain-unguarded"),
]

try:
    import ninja  # noqa: F401  (an optional extra: without it, only the plain views)
except ImportError:
    pass
else:
    from . import ninja_api

    urlpatterns += [
        *(path(f"ninja/{cls}/{mode}/", api.urls) for (cls, mode), api in ninja_api.APIS.items()),
        path("ninja/either/", ninja_api.either.urls),
        path("ninja/scoped/", ninja_api.scoped.urls),
        path("ninja/project/", ninja_api.project.urls),
    ]
