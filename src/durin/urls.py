"""Include with ``path("api/auth/", include("durin.urls"))``; the URL names are 1.x's."""

from __future__ import annotations

from django.urls import path

from . import api_keys, possession, views

sessions_list = views.TokenSessionsViewSet.as_view({"get": "list"})
sessions_detail = views.TokenSessionsViewSet.as_view({"delete": "destroy"})
#: The same with the trailing slash every other durin URL has; documented once, without it.
sessions_detail_slash = views.TokenSessionsViewSet.as_view({"delete": "destroy"}, schema=None)

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="durin_login"),
    path("refresh/", views.RefreshView.as_view(), name="durin_refresh"),
    path("logout/", views.LogoutView.as_view(), name="durin_logout"),
    path("logoutall/", views.LogoutAllView.as_view(), name="durin_logoutall"),
    path("logoutothers/", views.LogoutOthersView.as_view(), name="durin_logoutothers"),
    path("reauthenticate/", views.ReauthenticateView.as_view(), name="durin_reauthenticate"),
    path("apiaccess/", views.APIAccessTokenView.as_view(), name="durin_apiaccess"),
    path("revoke/", possession.RevokeView.as_view(), name="durin_revoke"),
    path("introspect/", possession.IntrospectView.as_view(), name="durin_introspect"),
    path("sessions/", sessions_list, name="durin_tokensessions-list"),
    # Any id the view cannot find is its JSON 404, not an HTML page.
    path("sessions/<str:pk>", sessions_detail, name="durin_tokensessions-detail"),
    path("sessions/<str:pk>/", sessions_detail_slash),
    path("keys/", api_keys.KeysView.as_view(), name="durin_keys-list"),
    path("keys/<str:pk>", api_keys.KeyView.as_view(), name="durin_keys-detail"),
    path("keys/<str:pk>/", api_keys.KeyView.as_view(schema=None)),
    path("keys/<str:pk>/roll/", api_keys.RollKeyView.as_view(), name="durin_keys-roll"),
]
