"""The demo's web page, seen by Django's test client: ``/`` is the page for a browser and
the JSON index for everything else; the page and its files carry strict security headers;
the page is a static file, the same bytes whoever asks.

The requests run in a subprocess with the demo's own settings (as in test_example_project.py),
so nothing here depends on the test settings. The browser drives the page in test_browser.py.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from .demo_server import PROJECT_DIR, run

PAGE_DIR = PROJECT_DIR / "demo" / "page"
#: Methods the page's URLs refuse: they serve files and change nothing.
UNSAFE = ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
#: Accept header -> whether / answers the page: only when HTML ranks above JSON. (Otherwise
#: DRF answers the index, as JSON or, if the header asks for HTML, its browsable API.)
ACCEPTS = {
    "TEXT/HTML": True,
    "text/*": True,
    "text/html;q=0.5, application/json;q=0.4": True,
    "text/html;q=0": False,
    "text/html;q=nan": False,
    "text/html;q=inf, application/json;q=0.1": False,
    "text/html;q=-1, */*;q=0.5": False,
    "text/html;q=oops, */*;q=0.1": False,
    "text/html;q=0.5, application/json;q=0.5": False,
    "application/*, text/html;q=0.9": False,
    ", ;;, =": False,
}

REQUESTS = """
import json, django
django.setup()
from django.test import Client

http = Client(HTTP_HOST="localhost")

def answer(path, **headers):
    response = http.get(path, **headers)
    return {
        "status": response.status_code,
        "type": response.headers.get("Content-Type"),
        "headers": {k: v for k, v in response.headers.items()},
        "body": response.content.decode(),
    }

login = http.post(
    "/api/auth/login/",
    {"username": "demo", "password": "demo-password", "client": "cli"},
    content_type="application/json",
).json()
token = {"HTTP_AUTHORIZATION": "Token " + login["token"]}
browser = {"HTTP_ACCEPT": %(browser)r}
page = http.get("/page/").content.decode()
anonymous = answer("/", **browser)
# As a real server sees them: CSRF enforced, so a POST is refused by method, not by CSRF.
strict = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)

def by_method(method, path):
    response = strict.generic(method, path)
    return [response.status_code, response.headers.get("Allow"), response.content.decode()]

methods = {
    path: {method: by_method(method, path) for method in ["GET", "HEAD", *%(unsafe)r]}
    for path in ["/page/", "/page/app.js", "/page/app.css", "/page/settings.py", "/favicon.ico"]
}
http.login(username="demo", password="demo-password")  # a Django session cookie too
print(json.dumps({
    "methods": methods,
    "browser": anonymous,
    "browser_with_token": answer("/", **browser, **token),
    "browser_with_session": answer("/", **browser),
    "page": answer("/page/", HTTP_ACCEPT="*/*"),
    "js": answer("/page/app.js"),
    "css": answer("/page/app.css"),
    "favicon": answer("/favicon.ico"),
    "html_as_asset": answer("/page/index.html"),
    "unknown_asset": answer("/page/settings.py"),
    "traversal": answer("/page/..%%2Fpage.py"),
    "curl": answer("/", HTTP_ACCEPT="*/*"),
    "no_accept": answer("/"),
    "json": answer("/", HTTP_ACCEPT="application/json"),
    "json_over_html": answer("/", HTTP_ACCEPT="application/json, text/html;q=0.9"),
    "format_json": answer("/?format=json", **browser),
    "accept": {
        accept: answer("/", HTTP_ACCEPT=accept)["body"] == page
        for accept in %(accepts)r
    },
    "scopes": answer("/api/scopes/"),
}))
""" % {"browser": BROWSER, "accepts": ACCEPTS, "unsafe": UNSAFE}


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> dict:
    db = tmp_path_factory.mktemp("page") / "db.sqlite3"
    run(["manage.py", "migrate", "--verbosity", "0"], db)
    run(["manage.py", "seed_demo"], db)
    return json.loads(run(["-c", REQUESTS], db))


CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@pytest.mark.parametrize("name", ["browser", "page", "js", "css", "favicon"])
def test_the_page_and_its_files_carry_the_security_headers(answers: dict, name: str) -> None:
    headers = answers[name]["headers"]
    assert answers[name]["status"] == (204 if name == "favicon" else 200)
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"


def test_the_demo_has_no_icon_and_says_so_without_an_error(answers: dict) -> None:
    # Browsers ask for /favicon.ico on their own: a 404 would be an error in the console.
    assert answers["favicon"]["status"] == 204 and answers["favicon"]["body"] == ""


def test_the_files_are_served_with_their_types(answers: dict) -> None:
    assert answers["browser"]["type"] == "text/html; charset=utf-8"
    assert answers["js"]["type"] == "text/javascript; charset=utf-8"
    assert answers["css"]["type"] == "text/css; charset=utf-8"
    assert answers["js"]["body"] == (PAGE_DIR / "app.js").read_text()
    assert answers["css"]["body"] == (PAGE_DIR / "app.css").read_text()


@pytest.mark.parametrize("path", ["/page/", "/page/app.js", "/page/app.css", "/favicon.ico"])
def test_the_page_and_its_files_answer_get_and_head_only(answers: dict, path: str) -> None:
    methods = answers["methods"][path]
    ok = 204 if path == "/favicon.ico" else 200
    assert methods["GET"][0] == ok and bool(methods["GET"][2]) == (ok == 200)
    assert methods["HEAD"] == [ok, None, ""]  # the headers of GET, no body
    assert {method: methods[method][:2] for method in UNSAFE} == {
        method: [405, "GET, HEAD"] for method in UNSAFE
    }


def test_an_unknown_file_is_refused_by_method_before_by_name(answers: dict) -> None:
    methods = answers["methods"]["/page/settings.py"]
    assert methods["GET"][0] == methods["HEAD"][0] == 404
    assert {method: methods[method][0] for method in UNSAFE} == dict.fromkeys(UNSAFE, 405)


@pytest.mark.parametrize("name", ["html_as_asset", "unknown_asset", "traversal"])
def test_nothing_but_the_pages_files_is_served(answers: dict, name: str) -> None:
    assert answers[name]["status"] == 404
    assert "Content-Security-Policy" not in answers[name]["headers"]


def test_a_browser_gets_the_page_and_nothing_in_it_depends_on_who_asks(answers: dict) -> None:
    page = (PAGE_DIR / "index.html").read_text()
    for name in ("browser", "browser_with_token", "browser_with_session", "page"):
        assert answers[name]["body"] == page, name


@pytest.mark.parametrize("name", ["curl", "no_accept", "json", "json_over_html", "format_json"])
def test_everything_else_gets_the_json_index(answers: dict, name: str) -> None:
    answer = answers[name]
    assert answer["status"] == 200
    assert answer["type"] == "application/json"
    index = json.loads(answer["body"])
    assert index["page"] == "http://localhost/page/"  # where the page is, whatever Accept
    assert index["login"] == "http://localhost/api/auth/login/"
    assert "Content-Security-Policy" not in answer["headers"]


def test_the_page_goes_only_where_html_ranks_above_json(answers: dict) -> None:
    assert answers["accept"] == ACCEPTS


@pytest.mark.parametrize("name", ["browser", "curl"])
def test_both_answers_of_the_root_vary_on_accept(answers: dict, name: str) -> None:
    vary = [part.strip() for part in answers[name]["headers"]["Vary"].split(",")]
    assert "Accept" in vary


def test_the_page_says_where_the_json_index_is(answers: dict) -> None:
    assert 'href="/?format=json"' in answers["browser"]["body"]


def test_the_scopes_are_public_configuration(answers: dict) -> None:
    assert answers["scopes"]["status"] == 200
    assert json.loads(answers["scopes"]["body"]) == [
        {
            "name": "profile:read",
            "description": "Read who you are and how you logged in (api/profile/).",
        },
        {"name": "clock:read", "description": "Read the server's time (api/clock/)."},
    ]


class Markup(HTMLParser):
    """What the CSP must allow in a page: scripts, styles, handlers, labels and controls."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict] = []
        self.styles = 0
        self.inline_attributes: list[str] = []
        self.labels: set[str] = set()
        self.controls: list[str] = []
        self.in_script = False
        self.script_text = ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        self.in_script = tag == "script"
        if tag == "script":
            self.scripts.append(attributes)
        if tag == "style":
            self.styles += 1
        self.inline_attributes += [
            f"{tag} {name}" for name in attributes if name == "style" or name.startswith("on")
        ]
        if tag == "label":
            self.labels.add(attributes.get("for"))
        if tag in {"input", "select", "textarea"} and attributes.get("type") != "hidden":
            self.controls.append(attributes.get("id"))

    def handle_data(self, data: str) -> None:
        if self.in_script:
            self.script_text += data

    def handle_endtag(self, tag: str) -> None:
        self.in_script = False


def test_the_page_has_no_inline_code_and_every_control_a_label() -> None:
    markup = Markup()
    markup.feed((PAGE_DIR / "index.html").read_text())

    assert markup.scripts == [{"src": "/page/app.js", "defer": None}]
    assert markup.script_text.strip() == ""
    assert markup.styles == 0 and markup.inline_attributes == []
    assert markup.controls and [c for c in markup.controls if c not in markup.labels] == []


def test_the_script_puts_no_server_text_in_as_html() -> None:
    script = (PAGE_DIR / "app.js").read_text()
    sinks = r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function"
    assert re.findall(sinks, script) == []
    # The token goes nowhere but sessionStorage and the Authorization header.
    assert re.findall(r"localStorage|document\.cookie", script) == []
    assert 'credentials: "omit"' in script


def test_the_page_needs_no_build_step() -> None:
    assert sorted(path.name for path in PAGE_DIR.iterdir()) == ["app.css", "app.js", "index.html"]
    script = (PAGE_DIR / "app.js").read_text()
    assert not re.search(r"\b(import|require)\s*\(|^import |^export ", script, re.MULTILINE)
