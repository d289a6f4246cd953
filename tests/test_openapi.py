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

from .demo_server import run

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
        "/api/auth/logoutothers/": {"post"},
        "/api/auth/reauthenticate/": {"post"},
        "/api/auth/sessions/": {"get"},
        "/api/auth/sessions/{id}": {"delete"},
        "/api/auth/apiaccess/": {"get", "post", "delete"},
        "/api/auth/revoke/": {"post"},
        "/api/auth/introspect/": {"post"},
        "/api/auth/keys/": {"get", "post"},
        "/api/auth/keys/{id}": {"delete"},
        "/api/auth/keys/{id}/roll/": {"post"},
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
        assert body(s, route, "post", "401") == ERROR
    assert set(responses(s, "logout/", "post")) == {"204", "401", "413"}
    # A token limited to some scopes manages no sessions: 403.
    assert set(responses(s, "logoutall/", "post")) == {"204", "401", "403", "413"}
    assert body(s, "sessions/", "get", "200")["type"] == "array"
    assert set(responses(s, "sessions/", "get")) == {"200", "401", "403"}
    assert set(responses(s, "sessions/{id}", "delete")) == {"204", "400", "401", "403", "404"}
    assert set(responses(s, "apiaccess/", "get")) == {"200", "401", "404"}
    assert set(responses(s, "apiaccess/", "post")) == {"201", "400", "401", "404", "413"}
    assert set(responses(s, "apiaccess/", "delete")) == {"204", "401", "404"}
    # The API key's token is in POST's answer only.
    assert "token" not in component(s, body(s, "apiaccess/", "get", "200"))["properties"]
    assert "token" in component(s, body(s, "apiaccess/", "post", "201"))["required"]


def test_sessions_users_can_trust(schema):
    """logoutothers/, reauthenticate/, and refresh's answer for a client that rotates tokens."""
    s = schema()
    assert set(responses(s, "logoutothers/", "post")) == {"200", "401", "403", "413"}
    revoked = component(s, body(s, "logoutothers/", "post", "200"))
    assert revoked["required"] == ["revoked"]
    assert revoked["properties"]["revoked"]["type"] == "integer"
    assert "requestBody" not in s["paths"]["/api/auth/logoutothers/"]["post"]

    reauthenticate = s["paths"]["/api/auth/reauthenticate/"]["post"]
    assert reauthenticate["security"] == [{"durinTokenAuth": []}]
    statuses = {"200", "400", "401", "403", "413", "415", "429"}
    assert set(responses(s, "reauthenticate/", "post")) == statuses
    for media_type, content in reauthenticate["requestBody"]["content"].items():
        request = component(s, content["schema"])
        assert request["required"] == ["password"], media_type
    answer = component(s, body(s, "reauthenticate/", "post", "200"))
    assert answer["required"] == ["authenticated_at"]
    assert answer["properties"]["authenticated_at"]["format"] == "date-time"
    assert body(s, "reauthenticate/", "post", "403") == ERROR
    assert body(s, "reauthenticate/", "post", "429") == ERROR
    wrong_password = component(s, body(s, "reauthenticate/", "post", "400"))
    assert {"detail", "non_field_errors", "password"} <= set(wrong_password["properties"])
    assert not wrong_password.get("required")

    # Every client answers the expiry; only a rotating one answers a token too.
    refreshed = component(s, body(s, "refresh/", "post", "200"))
    assert refreshed["required"] == ["expiry"]
    assert refreshed["properties"]["token"]["type"] == "string"
    assert "rotate" in refreshed["properties"]["token"]["description"]


def test_revoke_and_introspect(schema):
    s = schema()
    revoke = s["paths"]["/api/auth/revoke/"]["post"]
    assert revoke.get("security", [{}]) == [{}]  # no credentials: anonymous
    assert set(responses(s, "revoke/", "post")) == {"200", "400", "413", "415", "429"}
    assert body(s, "revoke/", "post", "200") == {
        "type": "object",
        "properties": {},
        "additionalProperties": False,
    }
    request = component(s, revoke["requestBody"]["content"]["application/json"]["schema"])
    assert not request.get("required")
    assert request["properties"]["tokens"]["maxItems"] == 100

    introspect = s["paths"]["/api/auth/introspect/"]["post"]
    assert introspect["security"] == [{"durinTokenAuth": []}]
    statuses = {"200", "400", "401", "403", "413", "415"}
    assert set(responses(s, "introspect/", "post")) == statuses
    answer = component(s, body(s, "introspect/", "post", "200"))
    assert answer["required"] == ["active"]
    assert set(answer["properties"]) == {
        "active",
        "scope",
        "client_id",
        "username",
        "sub",
        "token_type",
        "exp",
        "iat",
    }
    assert "durin:introspect" in introspect["description"]
    assert body(s, "introspect/", "post", "403") == ERROR


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


@pytest.mark.parametrize("prefix", ["Token", "Bearer"])
def test_the_security_scheme_lists_the_projects_scopes(schema, settings, prefix):
    """Consumers learn which scopes exist, what each allows, and the 403 a missing one gets."""
    settings.REST_DURIN = {
        "AUTH_HEADER_PREFIX": prefix,
        "SCOPES": {"orders:read": "Read your orders", "refunds": "Refund a payment"},
    }
    description = schema()["components"]["securitySchemes"]["durinTokenAuth"]["description"]
    assert "- `orders:read`: Read your orders\n- `refunds`: Refund a payment" in description
    assert f'{prefix} error="insufficient_scope"' in description and "403" in description
    assert not _leaks(description)
    settings.REST_DURIN = {"AUTH_HEADER_PREFIX": prefix}
    scheme = schema()["components"]["securitySchemes"]["durinTokenAuth"]
    assert "scope" not in scheme.get("description", "")


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
    # reauthenticate/'s answer is formatted the same way.
    answer = component(s, body(s, "reauthenticate/", "post", "200"))
    assert "format" not in answer["properties"]["authenticated_at"]


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
    import durin

    # This durin, wherever this process imports it from (a checkout's src/, or installed).
    ours = str(Path(durin.__file__).resolve().parents[1])
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin", "PYTHONPATH": ours}
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


def _texts(node, where=""):
    """Every summary and description in a part of the schema, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("summary", "description") and isinstance(value, str):
                yield f"{where}/{key}", value
            else:
                yield from _texts(value, f"{where}/{key}")
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item, where)


def _developer_words() -> set[str]:
    """Words that speak to a developer subclassing durin, not to an API consumer: durin's
    own view methods and attributes (``get_client_obj``...), and what surrounds them."""
    from durin import views

    names = {
        name
        for cls in vars(views).values()
        if isinstance(cls, type) and cls.__module__ == views.__name__
        for name, value in vars(cls).items()
        # Methods and settings-like attributes; DRF's as_view() also sets plain ``name``,
        # ``detail``, ``description``... on a viewset, words any sentence may use.
        if not name.startswith("__")
        and ("_" in name or callable(value) or isinstance(value, (property, staticmethod)))
    }
    http = {"get", "post", "delete", "list", "destroy"}  # also how a consumer calls them
    return (names - http) | {
        "override",
        "subclass",
        "hook",
        "get_",
        "``",
        "serializer",
        "queryset",
        "ATOMIC_REQUESTS",
        "transaction",
        "docstring",
        "durin",
    }


def _leaks(text: str) -> set[str]:
    import re

    from durin.constants import INTROSPECT_SCOPE

    # The introspection scope's name is part of the API, though it says "durin".
    lowered = text.lower().replace(INTROSPECT_SCOPE, "scope")
    return {
        word
        for word in _developer_words()
        if (
            re.search(rf"\b{re.escape(word.lower())}\b", lowered)
            if word.isidentifier() and not word.endswith("_")
            else word.lower() in lowered
        )
    }


def test_every_operation_has_a_summary_and_a_description_for_api_consumers(schema):
    s = schema()
    for route, operations in s["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, route)
            assert len(operation.get("description", "")) > 40, (method, route)
    texts = list(_texts(s["paths"], "paths")) + list(_texts(s["components"], "components"))
    assert len(texts) > 30
    leaks = {where: _leaks(text) for where, text in texts if _leaks(text)}
    assert leaks == {}


def test_the_developer_word_check_can_fail():
    assert _leaks("Override ``get_client_obj`` to customise.") == {
        "override",
        "get_",
        "``",
        "get_client_obj",
    }
    assert _leaks("Calls renew_token; a hook for subclasses.") >= {"renew_token", "hook"}
    assert _leaks("Log in with a client's name; delete your API key.") == set()


def test_a_projects_subclass_documents_no_developer_notes_either(settings):
    """A project that annotates a method of its own falls back on the views' docstrings:
    those speak to API consumers too."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.utils import extend_schema

    from durin.views import APIAccessTokenView, LoginView

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, **SCHEMA_CLASS}

    class ProjectLogin(LoginView):
        @extend_schema(operation_id="project_login")
        def post(self, request, *args, **kwargs):
            return super().post(request, *args, **kwargs)

    class ProjectKeys(APIAccessTokenView):
        @extend_schema(operation_id="project_key")
        def get(self, request, *args, **kwargs):
            return super().get(request, *args, **kwargs)

    patterns = [path("login/", ProjectLogin.as_view()), path("keys/", ProjectKeys.as_view())]
    s = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    described = [s["paths"]["/login/"]["post"], s["paths"]["/keys/"]["get"]]
    for operation in described:
        assert operation["description"] and not _leaks(operation["description"])


def test_api_keys(schema, settings):
    """keys/: the key is in the answers that issue one only; scopes as the project names them."""
    settings.REST_DURIN = {"SCOPES": {"read": "Read.", "write": "Write."}}
    s = schema()
    assert set(responses(s, "keys/", "get")) == {"200", "401", "403", "404"}
    assert set(responses(s, "keys/", "post")) == {"201", "400", "401", "403", "404", "413", "415"}
    assert set(responses(s, "keys/{id}", "delete")) == {"204", "401", "403", "404"}
    roll = {"201", "400", "401", "403", "404", "413", "415"}
    assert set(responses(s, "keys/{id}/roll/", "post")) == roll
    listed = body(s, "keys/", "get", "200")
    assert listed["type"] == "array"
    key = component(s, listed["items"])
    assert set(key["properties"]) == {
        "id",
        "name",
        "scopes",
        "created",
        "expiry",
        "last_used",
        "hint",
    }
    for route in ("keys/", "keys/{id}/roll/"):
        issued = component(s, body(s, route, "post", "201"))
        assert "token" in issued["required"]
    create = s["paths"]["/api/auth/keys/"]["post"]
    assert create["security"] == [{"durinTokenAuth": []}]
    request = component(s, create["requestBody"]["content"]["application/json"]["schema"])
    assert request["required"] == ["name"]
    scopes = component(s, request["properties"]["scopes"]["items"])
    assert scopes["enum"] == ["durin:introspect", "read", "write"]
    assert request["properties"]["expires_in"]["minimum"] == 1
    rolled = s["paths"]["/api/auth/keys/{id}/roll/"]["post"]
    grace = component(s, rolled["requestBody"]["content"]["application/json"]["schema"])
    assert grace["properties"]["grace"]["maximum"] == 7 * 24 * 3600
    assert "recently" in responses(s, "keys/", "post")["401"]["description"]
