"""The demo's routes: the web page (``/`` for browsers, ``page/``), durin's own views under
api/auth/, endpoints to call with a token, the public list of scopes, and the OpenAPI schema
with its Swagger UI."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import page, views

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("page/", page.page, name="page"),
    path("page/<str:name>", page.asset, name="page-asset"),
    path("favicon.ico", page.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/auth/", include("durin.urls")),
    path("api/hello/", views.HelloView.as_view(), name="hello"),
    path("api/web-only/", views.WebOnlyView.as_view(), name="web-only"),
    path("api/scopes/", views.ScopesView.as_view(), name="scopes"),
    path("api/profile/", views.ProfileView.as_view(), name="profile"),
    path("api/clock/", views.ClockView.as_view(), name="clock"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
