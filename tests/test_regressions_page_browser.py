"""Attacks on the demo's web page (issue 14) that need a browser: double clicks, answers
that arrive after "Log out" or another login, and what Log out does to the token (closing
the tab does not revoke it). All fixed; the demo, the browser and their fixtures are
test_browser.py's.
"""

from __future__ import annotations

from typing import Any

from . import test_browser
from .live_servers import http_call
from .test_browser import PASSWORD, Device, expect, keys_rows, sessions_rows

pytestmark = test_browser.pytestmark
# test_browser.py's fixtures, asked for by name below.
playwright = test_browser.playwright
seeded_db = test_browser.seeded_db
serve = test_browser.serve
devices = test_browser.devices


def fill_login(device: Device, client: str, *, load: bool = True) -> None:
    page = device.page
    if load:
        page.goto(device.base + "/")
    form = page.locator("#login-form")
    form.get_by_label("Username").fill("demo")
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_label("Client").fill(client)


class Requests:
    """Counts the page's requests to one endpoint with one method, sent and answered."""

    def __init__(self, page: Any, method: str, path: str) -> None:
        self.sent, self.done = [], []

        def matches(request: Any) -> bool:
            return request.method == method and request.url.endswith(path)

        page.on("request", lambda r: matches(r) and self.sent.append(r))
        page.on("requestfinished", lambda r: matches(r) and self.done.append(r))
        page.on("requestfailed", lambda r: matches(r) and self.done.append(r))

    def settle(self, page: Any) -> None:
        """Waits until every request sent so far has its answer."""
        for _ in range(200):
            if self.sent and len(self.done) == len(self.sent):
                return
            page.wait_for_timeout(50)
        raise AssertionError(f"{len(self.sent)} sent, {len(self.done)} answered")


def test_a_double_click_on_create_key_makes_one_key(serve, devices) -> None:
    port = serve()
    a = devices("double-create", port)
    a.log_in("cli")
    page = a.page
    posts = Requests(page, "POST", "/api/auth/keys/")
    page.get_by_label("Name", exact=True).fill("twice")
    page.get_by_role("button", name="Create key").dblclick()
    expect(page.get_by_label("Key", exact=True)).to_be_visible()
    posts.settle(page)
    page.get_by_role("button", name="Reload").click()
    expect(a.status()).to_have_text("Up to date.")
    expect(keys_rows(a).filter(has_text="twice")).to_have_count(1)


def test_a_double_click_on_log_in_opens_one_session(serve, devices) -> None:
    port = serve()
    a = devices("double-login", port)
    fill_login(a, "mobile")
    page = a.page
    logins = Requests(page, "POST", "/api/auth/login/")
    page.get_by_role("button", name="Log in").dblclick()
    expect(a.status()).to_have_text("Logged in through the client mobile.")
    logins.settle(page)
    page.get_by_role("button", name="Reload").click()
    expect(a.status()).to_have_text("Up to date.")
    expect(sessions_rows(a)).to_have_count(1)


def test_a_key_created_before_log_out_is_not_shown_after_it(serve, devices) -> None:
    port = serve()
    a = devices("late-key", port)
    a.log_in("cli")
    page = a.page
    # The list of keys that follows the creation is answered by the server (while the token
    # is good) and handed to the page only after "Log out": a slow network.
    state: dict[str, Any] = {"hold": False, "held": []}

    def hold(route: Any) -> None:
        if route.request.method == "GET" and state["hold"]:
            state["held"].append((route, route.fetch()))
        else:
            route.continue_()

    page.route("**/api/auth/keys/", hold)
    state["hold"] = True
    page.get_by_label("Name", exact=True).fill("late")
    page.get_by_role("button", name="Create key").click()
    for _ in range(200):
        if state["held"]:
            break
        page.wait_for_timeout(50)
    assert state["held"], "the list of keys after the creation was never asked for"
    state["hold"] = False
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(a.status()).to_have_text("Logged out. This token is revoked.")
    for route, response in state["held"]:
        route.fulfill(response=response)

    fill_login(a, "mobile", load=False)  # the next person at this tab, no reload
    page.get_by_role("button", name="Log in").click()
    expect(a.status()).to_have_text("Logged in through the client mobile.")
    expect(page.get_by_label("Key", exact=True)).to_be_hidden()
    assert page.get_by_label("Key", exact=True).input_value() == ""


def test_a_reload_keeps_the_login_and_log_out_revokes_the_token(serve, devices) -> None:
    # Closing the tab does not revoke the token, and Chromium keeps sessionStorage on disk
    # for session restore (even the bytes of a removed value, in its log): what the page
    # promises is that Log out revokes the token on the server and forgets it in the tab.
    port = serve()
    a = devices("log-out", port)
    a.log_in("web")
    page = a.page
    token = a.token()
    assert token
    page.reload()
    expect(page.locator("#who")).to_have_text("Logged in as demo through the client web.")
    assert a.token() == token
    assert http_call(port, "GET", "/api/hello/", token=token)[0] == 200

    page.get_by_role("button", name="Log out", exact=True).click()
    expect(a.status()).to_have_text("Logged out. This token is revoked.")
    assert a.token() is None
    assert page.evaluate("sessionStorage.length") == 0
    assert http_call(port, "GET", "/api/hello/", token=token)[0] == 401
    page.reload()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.locator("#account")).to_be_hidden()


def test_a_late_refusal_of_an_old_token_leaves_the_new_login_alone(serve, devices) -> None:
    port = serve()
    a = devices("late-401", port)
    a.log_in("cli")
    page = a.page
    # A reload whose list of sessions reaches the server only after "Log out" and a new
    # login: a slow network. The server refuses it (its token is revoked by then).
    state: dict[str, Any] = {"hold": True, "held": []}

    def hold(route: Any) -> None:
        if state["hold"]:
            state["held"].append(route)
        else:
            route.continue_()

    page.route("**/api/auth/sessions/", hold)
    asked = Requests(page, "GET", "/api/auth/sessions/")
    page.get_by_role("button", name="Reload").click()
    for _ in range(200):
        if state["held"]:
            break
        page.wait_for_timeout(50)
    assert state["held"], "the reload never asked for the sessions"
    state["hold"] = False
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(a.status()).to_have_text("Logged out. This token is revoked.")
    fill_login(a, "mobile", load=False)
    page.get_by_role("button", name="Log in").click()
    expect(a.status()).to_have_text("Logged in through the client mobile.")
    new = a.token()
    assert new

    for route in state["held"]:
        route.continue_()
    asked.settle(page)
    for _ in range(40):  # two seconds for the page to act on the refusal, if it does
        if a.token() != new:
            break
        page.wait_for_timeout(50)
    assert a.token() == new
    expect(page.locator("#who")).to_have_text("Logged in as demo through the client mobile.")
