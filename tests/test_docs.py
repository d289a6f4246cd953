"""Every sample of the documentation site (docs/, in mkdocs.yml's navigation) runs, so none
can rot: Python blocks are executed page by page (one namespace a page, as a reader pastes
them in order) and what they define is put to work; shell blocks run their commands; the
quickstart's curl session runs against the demo. A block in a language no test runs fails.

The endpoint examples (```http blocks) are replayed by tests/test_docs_endpoints.py, the
reference tables checked by tests/test_docs_reference.py, and the introspection example by
tests/test_possession.py against a live server.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import types
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import checks
from django.core.management import call_command
from django.test import override_settings
from django.urls import path, reverse
from django.utils import timezone

from durin.models import AuthToken

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest brings tomli there
    import tomli as tomllib  # type: ignore[no-redef]

from .conftest import auth_header
from .demo_server import running_demo, seed
from .docs_samples import DOCS, MKDOCS, REPO, Sample, nav_pages, samples, shell_commands

PAGES = nav_pages()
SAMPLES = [sample for page in PAGES for sample in samples(page)]
#: Languages some test runs; ``http`` is tests/test_docs_endpoints.py's, and a block with no
#: language (a header line, a log line) is shown, not run.
RUN = {"python", "sh", "json", "http", ""}
#: Pages whose shell blocks set up a project of their own, run by another test (the endpoint
#: examples' clients: tests/test_docs_endpoints.py).
OWN_SETUP = {"endpoints.md"}
#: Where the quickstart's curl session talks to the demo.
DEMO_URL = "http://127.0.0.1:8000"


def test_every_page_of_docs_is_in_the_navigation() -> None:
    # mkdocs --strict also fails on this; the samples below are found through the navigation.
    assert sorted(PAGES) == sorted(p.name for p in DOCS.glob("*.md"))


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.where)
def test_every_sample_is_in_a_language_the_tests_run(sample: Sample) -> None:
    assert sample.lang in RUN, f"{sample.where}: no test runs ```{sample.lang} blocks"
    if sample.lang == "json":
        json.loads(sample.code)


# Python -------------------------------------------------------------------------------------


def urlconf(*patterns: Any) -> types.ModuleType:
    module = types.ModuleType("docs_urls")
    module.urlpatterns = list(patterns)  # type: ignore[attr-defined]
    return module


def durin_problems() -> list[checks.CheckMessage]:
    return [
        message
        for message in checks.run_checks(include_deployment_checks=False)
        if message.id and message.id.startswith("durin.") and message.level >= checks.WARNING
    ]


def check_settings(namespace: dict[str, Any], sample: Sample) -> None:
    """A block that sets Django settings: durin's system checks pass with them."""
    names = [name for name in ("REST_DURIN", "REST_FRAMEWORK", "CACHES") if name in namespace]
    if "INSTALLED_APPS" in namespace:
        missing = set(namespace["INSTALLED_APPS"]) - set(settings.INSTALLED_APPS)
        assert not missing, f"{sample.where}: apps the tests do not install: {missing}"
    if names:
        with override_settings(**{name: namespace[name] for name in names}):
            assert durin_problems() == [], sample.where
    if "urlpatterns" in namespace:
        with override_settings(ROOT_URLCONF=urlconf(*namespace["urlpatterns"])):
            assert reverse("durin_login") == "/api/auth/login/", sample.where


def probe_install(namespace: dict[str, Any], api: Any, user: Any, web: Any) -> None:
    """The settings block names durin's classes by their real paths."""
    from django.utils.module_loading import import_string

    for name in namespace["REST_FRAMEWORK"]["DEFAULT_AUTHENTICATION_CLASSES"]:
        import_string(name)


def probe_sessions(namespace: dict[str, Any], api: Any, user: Any, web: Any) -> None:
    """ChangeEmailView lets a fresh password proof through and challenges a token without one."""
    view = namespace["ChangeEmailView"]
    proved = AuthToken.objects.create(user, web)
    AuthToken.objects.filter(pk=proved.pk).update(authenticated_at=timezone.now())
    with override_settings(ROOT_URLCONF=urlconf(path("email/", view.as_view()))):
        # 405: past authentication and permissions, the sample view has no handler.
        passed = api.get("/email/", **auth_header(proved))
        assert passed.status_code == 405, passed.content
        never = AuthToken.objects.create(user, web)  # issued without a password
        refused = api.get("/email/", **auth_header(never))
    assert refused.status_code == 401
    assert 'error="insufficient_user_authentication"' in refused["WWW-Authenticate"]
    assert "max_age=600" in refused["WWW-Authenticate"]


def probe_keys(namespace: dict[str, Any], api: Any, user: Any, web: Any) -> None:
    """The scoped views let exactly the scopes the page says through."""
    routes = urlconf(
        path("orders/", namespace["OrderView"].as_view()),
        path("payments/", namespace["PaymentView"].as_view()),
    )

    def status(url: str, scopes: list[str]) -> int:
        token = AuthToken.objects.create(user, web, scopes=scopes)
        response = api.get(url, **auth_header(token))
        if response.status_code == 403:
            assert response["WWW-Authenticate"].startswith('Token error="insufficient_scope"')
        return response.status_code

    with override_settings(REST_DURIN=namespace["REST_DURIN"], ROOT_URLCONF=routes):
        assert status("/orders/", ["orders:read"]) == 403
        assert status("/orders/", ["orders:read", "orders:write"]) == 405
        assert status("/payments/", ["refunds"]) == 405
        assert status("/payments/", ["orders:read"]) == 405
        assert status("/payments/", ["orders:write"]) == 403


def probe_ninja(namespace: dict[str, Any], api: Any, user: Any, web: Any) -> None:
    """The ninja API answers its user and client; the decorated views refuse no token."""
    token = AuthToken.objects.create(user, web)
    routes = urlconf(
        path("api/", namespace["api"].urls),
        path("report/", namespace["report"]),
        path("feed/", namespace["feed"]),
    )
    with override_settings(ROOT_URLCONF=routes):
        answer = api.get("/api/me", **auth_header(token))
        assert (answer.status_code, answer.json()) == (
            200,
            {"username": user.get_username(), "client": "web"},
        )
        assert api.get("/api/me").status_code == 401
        for url in ("/report/", "/feed/"):
            refused = api.get(url)
            assert refused.status_code == 401
            assert refused["WWW-Authenticate"].startswith("Token")


PROBES = {
    "install.md": probe_install,
    "sessions.md": probe_sessions,
    "keys.md": probe_keys,
    "ninja.md": probe_ninja,
}
PYTHON_PAGES = [page for page in PAGES if any(s.lang == "python" for s in samples(page))]


@pytest.mark.django_db
@pytest.mark.parametrize("page", PYTHON_PAGES)
def test_the_python_samples_of_a_page_run(page: str, api: Any, user: Any, web: Any) -> None:
    namespace: dict[str, Any] = {"__name__": f"docs_{page[:-3]}"}
    for sample in samples(page):
        if sample.lang == "python":
            exec(compile(sample.code, sample.where, "exec"), namespace)
            check_settings(namespace, sample)
    if page in PROBES:
        PROBES[page](namespace, api, user, web)


def test_every_page_with_views_in_its_samples_puts_them_to_work() -> None:
    # A sample defining a view or an API is requested by a probe above, not only executed.
    defines_views = {
        page
        for page in PYTHON_PAGES
        for sample in samples(page)
        if sample.lang == "python"
        and re.search(r"APIView\)|NinjaAPI\(|@token_required", sample.code)
    }
    assert defines_views <= set(PROBES)


# Shell --------------------------------------------------------------------------------------


def pip_requirement_exists(words: list[str], sample: Sample) -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for requirement in words[2:]:
        if requirement == ".":
            continue
        found = re.fullmatch(r"([\w.-]+)(?:\[([\w,-]+)\])?", requirement)
        assert found, f"{sample.where}: cannot read {requirement!r}"
        assert found[1] == project["name"], f"{sample.where}: {found[1]} is not this project"
        for extra in filter(None, (found[2] or "").split(",")):
            assert extra in project["optional-dependencies"], f"{sample.where}: no extra {extra}"


def replay_curl(words: list[str], api: Any, sample: Sample) -> None:
    """A curl call to a server of the reader's own, replayed on this suite's URLs (which
    include durin.urls under api/auth/, as the pages do)."""
    method, data, headers, url = "GET", None, {}, None
    arguments = iter(words[1:])
    for word in arguments:
        if word == "-X":
            method = next(arguments)
        elif word == "-d":
            data, method = next(arguments), "POST" if method == "GET" else method
        elif word == "-H":
            name, _, value = next(arguments).partition(":")
            headers[name.strip()] = value.strip()
        elif word.startswith("http"):
            url = urlsplit(word).path
        else:
            pytest.fail(f"{sample.where}: curl option {word} has no replay here")
    content_type = headers.pop("Content-Type", "application/x-www-form-urlencoded")
    response = api.generic(method, url, data or "", content_type=content_type, headers=headers)
    assert response.status_code < 400, f"{sample.where}: {response.status_code}"


@pytest.mark.django_db
def test_the_shell_samples_run_in_reading_order(api: Any) -> None:
    """Commands run in the order the navigation gives the pages, on one database: a page may
    use the clients an earlier page created, as a reader following them would."""
    ran = 0
    for sample in SAMPLES:
        if sample.lang != "sh" or DEMO_URL in sample.code or sample.page in OWN_SETUP:
            continue  # the quickstart's session with the demo: the test below
        for command in shell_commands(sample.code):
            words = shlex.split(command, comments=True)
            if words[:2] in (["python", "manage.py"], ["python3", "manage.py"]):
                call_command(*words[2:], stdout=StringIO(), stderr=StringIO())
            elif words[:2] == ["pip", "install"]:
                pip_requirement_exists(words, sample)
            elif words[0].startswith("bin/"):
                assert (REPO / words[0]).is_file(), sample.where
            elif words[0] == "curl":
                replay_curl(words, api, sample)
            else:
                pytest.fail(f"{sample.where}: no test runs `{command}`")
            ran += 1
    assert ran > 10


def demo_sessions() -> list[Sample]:
    return [sample for sample in SAMPLES if sample.lang == "sh" and DEMO_URL in sample.code]


@pytest.mark.slow
def test_the_quickstart_curl_session_runs_against_the_demo(tmp_path: Path) -> None:
    (session,) = demo_sessions()
    assert shutil.which("curl"), "the quickstart's session needs curl (apt-get install curl)"
    with running_demo(seed(tmp_path / "db.sqlite3"), tmp_path / "demo.log") as port:
        script = session.code.replace(DEMO_URL, f"http://127.0.0.1:{port}")
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    hello, sessions, logged_out, refused = result.stdout.splitlines()
    assert json.loads(hello) == {"hello": "demo", "client": "web"}
    (current,) = json.loads(sessions)
    assert current["is_current"] is True and current["client"] == "web"
    assert (logged_out, refused) == ("204", "401")


# The site -----------------------------------------------------------------------------------


def readme_links() -> set[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"\]\((docs/[^)#\s]+)", readme))


def test_the_readme_links_into_every_page_of_the_site() -> None:
    links = readme_links()
    assert {f"docs/{page}" for page in PAGES} - {"docs/index.md"} <= links
    assert all((REPO / link).is_file() for link in links), links


@pytest.mark.slow
def test_a_broken_link_fails_the_strict_build(tmp_path: Path) -> None:
    """bin/test's build refuses a link to a page that does not exist (and says which)."""
    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy(MKDOCS, tmp_path)
    (tmp_path / "bench").mkdir()
    shutil.copy(REPO / "bench" / "README.md", tmp_path / "bench")
    build = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", "site"]
    env = {"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            build, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    assert run().returncode == 0
    page = tmp_path / "docs" / "sessions.md"
    page.write_text(page.read_text() + "\nSee [nothing](no-such-page.md).\n")
    failed = run()
    assert failed.returncode != 0
    assert "no-such-page.md" in failed.stderr
