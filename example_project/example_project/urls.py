"""The demo's routes: durin's own views under api/auth/, plus two endpoints to call with a token
and the OpenAPI schema with its Swagger UI."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("admin/", admin.site.urls),
    path("api/auth/", include("durin.urls")),
    path("api/hello/", views.HelloView.as_view(), name="hello"),
    path("api/web-only/", views.WebOnlyView.as_view(), name="web-only"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
