"""What a django-rest-durin 1.x project relies on: LoginView hooks, signals, SECRET_KEY rotation."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client as BrowserClient
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIRequestFactory

from durin.models import AuthToken, Client
from durin.signals import token_revoked
from durin.views import LoginView

from .conftest import PASSWORD, Received, auth_header

pytestmark = pytest.mark.django_db


class CustomLogin(LoginView):
    """Overrides every 1.x hook, as projects do."""

    def get_client_obj(self, request):
        return Client.objects.get(name="mobile")  # the client comes from elsewhere

    def get_token_obj(self, request, client):
        token = super().get_token_obj(request, client)
        token.hooked = True
        return token

    def get_user_serializer_class(self):
        from durin.serializers import UserSerializer

        return UserSerializer

    def get_context(self):
        return {**super().get_context(), "extra": 1}

    @staticmethod
    def format_expiry_datetime(expiry):
        return "soon"

    def get_post_response_data(self, request, token_obj):
        data = super().get_post_response_data(request, token_obj)
        data["hooked"] = token_obj.hooked
        return data


def test_login_view_hooks_are_honoured(user, mobile):
    request = APIRequestFactory().post(
        "/login/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    response = CustomLogin.as_view()(request)
    assert response.status_code == 200
    assert response.data["expiry"] == "soon"
    assert response.data["hooked"] is True
    assert response.data["user"] == {"username": "alice"}
    assert AuthToken.objects.get().client == mobile


def test_tokens_survive_a_secret_key_rotation(api, token):
    with override_settings(SECRET_KEY="a-completely-different-secret"):
        assert api.get(reverse("whoami"), **auth_header(token)).status_code == 200


def test_revocation_reasons(api, user, web, mobile, make_client, settings):
    make_client("api")
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "api"}
    first = AuthToken.objects.create(user, web)
    with Received(token_revoked) as revoked:
        api.post(reverse("durin_apiaccess"), **auth_header(first))
        api.delete(reverse("durin_apiaccess"), **auth_header(first))
        AuthToken.objects.create(user, mobile)
        api.post(reverse("durin_logoutall"), **auth_header(first))
    assert [r["reason"] for r in revoked] == ["api_key_delete", "logout_all", "logout_all"]
    assert all(isinstance(r["client"], Client) for r in revoked)

    token = AuthToken.objects.create(user, web)
    admin = get_user_model().objects.create_superuser("admin", "a@example.com", "pw")
    browser = BrowserClient()
    browser.force_login(admin)
    with Received(token_revoked) as revoked:
        browser.post(reverse("admin:durin_authtoken_delete", args=[token.pk]), {"post": "yes"})
    assert [(r["reason"], r["token_id"]) for r in revoked] == [("admin", token.pk)]


def test_project_default_permissions_still_apply_to_token_views(api, token, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    }
    assert api.post(reverse("durin_logout"), **auth_header(token)).status_code == 403
    assert AuthToken.objects.filter(pk=token.pk).exists()
    assert api.post(reverse("durin_logout")).status_code == 401


def test_api_access_1x_hooks(user, make_client, settings, token):
    from durin.views import APIAccessTokenView

    make_client("api")
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "api"}
    issued = AuthToken.objects.create(user, Client.objects.get(name="api"))
    view = APIAccessTokenView()
    view.request = type("R", (), {"user": user})()
    assert view.client_name == "api"
    assert view.get_object().pk == issued.pk


def test_login_password_is_hidden_from_error_reports(user, web):
    from django.views.debug import SafeExceptionReporterFilter

    from durin import views

    seen = {}

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    browser = BrowserClient(raise_request_exception=False)
    original = views.LoginView.get_token_obj
    views.LoginView.get_token_obj = explode
    try:
        from django.core.signals import got_request_exception

        def capture(sender, request, **kwargs):
            seen["post"] = SafeExceptionReporterFilter().get_post_parameters(request)

        got_request_exception.connect(capture, weak=False, dispatch_uid="t-sens")
        browser.post(
            reverse("durin_login"), {"username": "alice", "password": PASSWORD, "client": "web"}
        )
    finally:
        views.LoginView.get_token_obj = original
        got_request_exception.disconnect(dispatch_uid="t-sens")
    assert seen["post"]["username"] == "alice"
    assert seen["post"]["password"] != PASSWORD
