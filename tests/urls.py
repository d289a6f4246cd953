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
    path("api/orders/", views.ReadOrdersView.as_view(), name="read-orders"),
    path("api/cached/orders/", views.CachedReadOrdersView.as_view(), name="cached-read-orders"),
    path("api/orders/edit/", views.EditOrdersView.as_view(), name="edit-orders"),
    path("api/read-or-refund/", views.ReadOrRefundView.as_view(), name="read-or-refund"),
    path("api/refund-or-staff/", views.RefundOrStaffView.as_view(), name="refund-or-staff"),
    path("api/staff-or-refund/", views.StaffOrRefundView.as_view(), name="staff-or-refund"),
    path("api/refund-or-sudo/", views.RefundOrSudoView.as_view(), name="refund-or-sudo"),
    path("api/no-scopes-named/", views.NoScopesNamedView.as_view(), name="no-scopes-named"),
    path("api/session-orders/", views.SessionReadOrdersView.as_view(), name="session-orders"),
]
