from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/", include("durin.urls")),
    path("api/whoami/", views.WhoAmIView.as_view(), name="whoami"),
    path("api/cached/whoami/", views.CachedWhoAmIView.as_view(), name="cached-whoami"),
    path("api/web-only/", views.WebOnlyView.as_view(), name="web-only"),
    path("api/not-cli/", views.NotCliView.as_view(), name="not-cli"),
    path("api/throttled/", views.ThrottledView.as_view(), name="throttled"),
    path("api/sudo/", views.SudoView.as_view(), name="sudo"),
    path("api/cached/sudo/", views.CachedSudoView.as_view(), name="cached-sudo"),
    path("api/short-sudo/", views.ShortSudoView.as_view(), name="short-sudo"),
    path("api/session-sudo/", views.SessionSudoView.as_view(), name="session-sudo"),
]
