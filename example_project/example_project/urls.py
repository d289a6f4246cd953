"""The demo's routes: durin's own views under api/auth/, plus two endpoints to call with a token."""

from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("admin/", admin.site.urls),
    path("api/auth/", include("durin.urls")),
    path("api/hello/", views.HelloView.as_view(), name="hello"),
    path("api/web-only/", views.WebOnlyView.as_view(), name="web-only"),
]
