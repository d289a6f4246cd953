"""The OpenAPI schema of durin's views (drf-spectacular, an optional extra).

The schema is generated in-process from ``durin.urls`` alone (the suite's other test views
are not documented); the demo's whole schema is validated by drf-spectacular's own command,
in a subprocess with the demo's settings.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.urls import include, path

from .test_example_project import run

pytest.importorskip("drf_spectacular")

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_CLASS = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
ERROR = {"$ref": "#/components/schemas/DurinError"}


@pytest.fixture
def schema(settings):
    """Generates durin's schema under the current settings (each call reads them anew)."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, **SCHEMA_CLASS}

    def generate() -> dict:
        from drf_spectacular.generators import SchemaGenerator

        patterns = [path("api/auth/", include("durin.urls"))]
        return SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)

    return generate


def responses(schema: dict, route: str, method: str) -> dict:
    return schema["paths"][f"/api/auth/{route}"][method]["responses"]


def body(schema: dict, route: str, method: str, status: str) -> dict:
    return responses(schema, route, method)[status]["content"]["application/json"]["schema"]


def component(schema: dict, ref: dict) -> dict:
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def test_every_durin_endpoint_is_documented(schema):
    paths = {route: set(ops) for route, ops in schema()["paths"].items()}
    assert paths == {
        "/api/auth/login/": {"post"},
        "/api/auth/refresh/": {"post"},
        "/api/auth/logout/": {"post"},
        "/api/auth/logoutall/": {"post"},
        "/api/auth/sessions/": {"get"},
        "/api/auth/sessions/{id}": {"delete"},
        "/api/auth/apiaccess/": {"get", "post", "delete"},
    }


def test_status_codes_and_bodies(schema):
    s = schema()
    assert set(responses(s, "login/", "post")) == {"200", "400", "413", "415", "429"}
    assert component(s, body(s, "login/", "post", "200"))["required"] == ["expiry", "token"]
    login = s["paths"]["/api/auth/login/"]["post"]
    assert "security" not in login
    request = component(s, login["requestBody"]["content"]["application/json"]["schema"])
    assert sorted(request["required"]) == ["client", "password", "username"]
    assert component(s, body(s, "refresh/", "post", "200"))["required"] == ["expiry"]
    for route in ("logout/", "logoutall/"):
        assert set(responses(s, route, "post")) == {"204", "401", "413"}
        assert body(s, route, "post", "401") == ERROR
    assert body(s, "sessions/", "get", "200")["type"] == "array"
    assert set(responses(s, "sessions/{id}", "delete")) == {"204", "400", "401", "404"}
    assert set(responses(s, "apiaccess/", "get")) == {"200", "401", "404"}
    assert set(responses(s, "apiaccess/", "post")) == {"201", "400", "401", "404", "413"}
    assert set(responses(s, "apiaccess/", "delete")) == {"204", "401", "404"}
    # The API key's token is in POST's answer only.
    assert "token" not in component(s, body(s, "apiaccess/", "get", "200"))["properties"]
    assert "token" in component(s, body(s, "apiaccess/", "post", "201"))["required"]


@pytest.mark.parametrize(
    "auth_class", ["durin.auth.TokenAuthentication", "durin.auth.CachedTokenAuthentication"]
)
def test_security_scheme_follows_the_auth_header_prefix(schema, settings, auth_class):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_AUTHENTICATION_CLASSES": [
            auth_class,
            "rest_framework.authentication.SessionAuthentication",
        ],
    }
    s = schema()
    scheme = s["components"]["securitySchemes"]["durinTokenAuth"]
    assert scheme["type"] == "apiKey" and scheme["in"] == "header"
    assert scheme["name"] == "Authorization" and "Token <token>" in scheme["description"]
    # Token views take only durin tokens, whatever else the project authenticates with.
    assert s["paths"]["/api/auth/refresh/"]["post"]["security"] == [{"durinTokenAuth": []}]

    settings.REST_DURIN = {"AUTH_HEADER_PREFIX": "Durin"}
    assert (
        "Durin <token>"
        in schema()["components"]["securitySchemes"]["durinTokenAuth"]["description"]
    )
    settings.REST_DURIN = {"AUTH_HEADER_PREFIX": "Bearer"}
    assert schema()["components"]["securitySchemes"]["durinTokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }


def test_login_documents_the_user_serializer_when_set(schema, settings):
    settings.REST_DURIN = {"USER_SERIALIZER": "durin.serializers.UserSerializer"}
    s = schema()
    login = component(s, body(s, "login/", "post", "200"))
    assert "user" in login["required"]
    assert component(s, login["properties"]["user"])["properties"]["username"]


def test_expiry_is_a_date_time_unless_formatted_otherwise(schema, settings):
    s = schema()
    expiry = component(s, body(s, "refresh/", "post", "200"))["properties"]["expiry"]
    assert expiry == {"type": "string", "format": "date-time"}
    settings.REST_DURIN = {"EXPIRY_DATETIME_FORMAT": "%d/%m/%Y"}
    s = schema()
    assert component(s, body(s, "refresh/", "post", "200"))["properties"]["expiry"] == {
        "type": "string"
    }


def test_a_projects_own_annotations_of_a_durin_view_win(settings):
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.utils import extend_schema, inline_serializer
    from rest_framework import serializers

    from durin.views import LoginView

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, **SCHEMA_CLASS}  # before extend_schema

    class ProjectLogin(LoginView):
        @extend_schema(
            responses={200: inline_serializer("Mine", {"mine": serializers.CharField()})}
        )
        def post(self, request, *args, **kwargs):
            return super().post(request, *args, **kwargs)

    patterns = [path("login/", ProjectLogin.as_view()), path("api/auth/", include("durin.urls"))]
    s = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    mine = s["paths"]["/login/"]["post"]["responses"]["200"]["content"]["application/json"]
    assert mine["schema"] == {"$ref": "#/components/schemas/Mine"}


def test_the_demo_schema_validates_without_a_warning(tmp_path):
    out = tmp_path / "schema.yaml"
    command = ["manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", str(out)]
    run(command, tmp_path / "db.sqlite3")
    text = out.read_text()
    assert "durinTokenAuth" in text and "/api/auth/sessions/{id}" in text


def test_durin_works_without_drf_spectacular():
    """With drf-spectacular unimportable, durin still loads, and no part of it asks for it."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["drf_spectacular"] = None  # any import of it raises ImportError
        import django
        django.setup()
        import durin.auth, durin.urls, durin.views
        from django.core.management import call_command
        call_command("check")
        assert "durin.contrib.spectacular" not in sys.modules
        print("ok")
        """
    )
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr
