"""Include with ``path("api/auth/", include("durin.urls"))``; the URL names are 1.x's."""

from __future__ import annotations

from django.urls import path, re_path

from . import views

sessions_list = views.TokenSessionsViewSet.as_view({"get": "list"})
sessions_detail = views.TokenSessionsViewSet.as_view({"delete": "destroy"})

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="durin_login"),
    path("refresh/", views.RefreshView.as_view(), name="durin_refresh"),
    path("logout/", views.LogoutView.as_view(), name="durin_logout"),
    path("logoutall/", views.LogoutAllView.as_view(), name="durin_logoutall"),
    path("apiaccess/", views.APIAccessTokenView.as_view(), name="durin_apiaccess"),
    path("sessions/", sessions_list, name="durin_tokensessions-list"),
    re_path(r"^sessions/(?P<pk>[0-9]{1,18})$", sessions_detail, name="durin_tokensessions-detail"),
]
