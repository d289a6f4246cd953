"""The demo's web page, driven in a real headless Chromium (Debian's ``chromium`` package).

Each test serves the demo as bin/demo does (its own settings, a throwaway SQLite file that
went through migrate and seed_demo, runserver on a free 127.0.0.1 port, DEBUG off) and
drives the page through Playwright, with one fresh browser profile per "device".
Screenshots of every step go to .nox/artifacts/browser/ (git ignores .nox/).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from .demo_server import PROJECT_DIR, running_demo, seed
from .live_servers import http_call

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("DURIN_TEST_DB", "sqlite") != "sqlite",
        reason="the browser test runs in bin/test's SQLite pass: the demo it drives has its "
        "own SQLite file whatever the pass",
    ),
]

CHROMIUM = Path("/usr/bin/chromium")
#: How Chromium logs a refusal the page expects from the API and shows: 400 (bad input, a
#: wrong password), 401, 403, 404. Any other status (405, 5xx) is a bug of the page or demo.
API_REFUSAL = re.compile(
    r"Failed to load resource: the server responded with a status of 40[0134] \(.*\)"
)
#: No network of its own, no first-run dialogs: Chromium talks to the demo and nothing else.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_DIR.parent / ".nox" / "artifacts" / "browser"
PASSWORD = "demo-password"


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser test drives Debian's Chromium. Install it with "
            "`apt-get install chromium` (bin/test does so itself when run as root); the test "
            "never downloads a browser."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo database after migrate and seed_demo; each test serves a copy of it."""
    return seed(tmp_path_factory.mktemp("browser") / "seeded.sqlite3")


@pytest.fixture
def serve(seeded_db: Path, tmp_path: Path) -> Iterator[Callable[..., int]]:
    """Starts the demo on a copy of the seeded database; answers its port. Every server is
    stopped and its log closed at the end of the test."""
    with ExitStack() as servers:
        ports: list[int] = []

        def start(reauthentication_max_age: int = 300) -> int:
            number = len(ports)
            db = tmp_path / f"demo{number}.sqlite3"
            shutil.copy(seeded_db, db)
            port = servers.enter_context(
                running_demo(
                    db,
                    tmp_path / f"server{number}.log",
                    # Served by the demo's own views, not by staticfiles: DEBUG off proves it.
                    DURIN_DEMO_DEBUG="0",
                    DURIN_DEMO_REAUTHENTICATION_MAX_AGE=str(reauthentication_max_age),
                )
            )
            ports.append(port)
            return port

        yield start


class Device:
    """One browser with a profile of its own: another device to the demo."""

    def __init__(self, context: Any, name: str, base: str) -> None:
        self.context, self.name, self.base = context, name, base
        self.page = context.new_page()
        self.problems: list[str] = []  # script errors and refused resources (CSP)
        self.page.on("pageerror", lambda error: self.problems.append(f"script: {error}"))
        self.page.on("console", self.console)

    def console(self, message: Any) -> None:
        # The API refusing a request (API_REFUSAL) is logged by Chromium as "Failed to load
        # resource": the page handles those. Anything else at error level is a problem: a
        # missing or refused asset, a script error, a CSP violation, a 5xx.
        if message.type == "error" and not self.expected_refusal(message):
            url = message.location.get("url", "")
            self.problems.append(f"{message.text} ({url})" if url else message.text)

    def expected_refusal(self, message: Any) -> bool:
        path = urlsplit(message.location.get("url", "")).path
        return path.startswith("/api/") and bool(API_REFUSAL.fullmatch(message.text))

    def shot(self, step: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def log_in(self, client: str, password: str = PASSWORD) -> None:
        page = self.page
        page.goto(self.base + "/")
        form = page.locator("#login-form")
        form.get_by_label("Username").fill("demo")
        form.get_by_label("Password").fill(password)
        form.get_by_label("Client").fill(client)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#who")).to_have_text(f"Logged in as demo through the client {client}.")

    def status(self) -> Any:
        return self.page.get_by_role("status")

    def token(self) -> str | None:
        return self.page.evaluate("sessionStorage.getItem('durin-demo-token')")


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


@pytest.fixture
def devices(playwright: Any, tmp_path: Path) -> Iterator[Callable[..., Device]]:
    opened: list[Device] = []

    def open_device(name: str, port: int, **options: Any) -> Device:
        base = f"http://127.0.0.1:{port}"
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / f"profile-{name}"),  # a fresh user data dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=FLAGS,
            user_agent=f"Mozilla/5.0 (X11; Linux x86_64) Chromium (durin demo, device {name})",
            viewport={"width": 1280, "height": 900},
            **options,
        )
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        device = Device(context, name, base)
        opened.append(device)
        return device

    yield open_device
    for device in opened:
        device.context.close()
    assert [(d.name, d.problems) for d in opened if d.problems] == []


#: Where a page shows a string: the fields whose value holds it, and the text of the body.
SHOWN = """(text) => [
    ...[...document.querySelectorAll("input, textarea")]
        .filter((field) => field.value.includes(text))
        .map((field) => `#${field.id}`),
    ...(document.body.textContent.includes(text) ? ["body text"] : []),
]"""


def sessions_rows(device: Device) -> Any:
    return device.page.locator("#sessions-body tr")


def keys_rows(device: Device) -> Any:
    return device.page.locator("#keys-body tr")


def test_two_devices_sessions_and_keys(serve, devices) -> None:
    port = serve()
    a, b = devices("A", port), devices("B", port)

    a.log_in("web")
    a.shot("01-logged-in")
    b.log_in("mobile")
    assert a.token() and b.token() and a.token() != b.token()

    # A creates a key limited to one scope: shown once, copied to the clipboard.
    page = a.page
    page.get_by_label("Name", exact=True).fill("backup script")
    page.get_by_label("clock:read").check()
    page.get_by_role("button", name="Create key").click()
    new_key = page.get_by_label("Key", exact=True)
    expect(new_key).to_be_visible()
    key = new_key.input_value()
    assert key and new_key.get_attribute("readonly") is not None
    expect(page.locator("#new-key-note")).to_contain_text(
        "Copy it now: it will not be shown again."
    )
    a.shot("02-new-key")
    page.get_by_role("button", name="Copy").click()
    expect(a.status()).to_have_text("The key is on your clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == key
    row = keys_rows(a).filter(has_text="backup script")
    expect(row).to_contain_text("clock:read")
    assert row.locator("code").inner_text().endswith(key[-4:])
    assert page.evaluate(SHOWN, key) == ["#new-key-value"]  # the probe below sees it
    page.get_by_role("button", name="Done").click()
    expect(new_key).to_be_hidden()
    assert new_key.input_value() == ""
    # Nowhere in the page any more: no field holds it, no text shows it.
    assert page.evaluate(SHOWN, key) == []

    # The key works where its scope allows, and only there.
    assert http_call(port, "GET", "/api/clock/", token=key)[0] == 200
    status, headers, _ = http_call(port, "GET", "/api/profile/", token=key)
    assert status == 403 and 'error="insufficient_scope"' in headers["WWW-Authenticate"]

    # A sees both sessions, its own marked as current in words.
    page.get_by_role("button", name="Reload").click()
    expect(sessions_rows(a)).to_have_count(2)
    current = sessions_rows(a).filter(has_text="This session (current)")
    expect(current).to_contain_text("web")
    expect(current).to_contain_text("device A")
    other = sessions_rows(a).filter(has_text="device B")
    expect(other).to_contain_text("mobile")
    expect(other).to_contain_text("127.0.0.1")
    a.shot("03-two-sessions")
    # The picture of docs/images/demo.png: both sessions and the key, in one screen.
    page.set_viewport_size({"width": 1100, "height": 1100})
    page.screenshot(path=str(ARTIFACTS / "demo.png"))

    # A ends B's session; B's next action finds it logged out and forgets its token.
    other.get_by_role("button", name="End the mobile session from 127.0.0.1").click()
    expect(a.status()).to_have_text("Ended the mobile session.")
    expect(sessions_rows(a)).to_have_count(1)
    a.shot("04-ended-other")
    b.page.get_by_role("button", name="Reload").click()
    expect(b.status()).to_have_text("You are logged out: Invalid token. Log in again.")
    expect(b.page.get_by_role("heading", name="Log in")).to_be_visible()
    assert b.token() is None
    b.shot("05-logged-out")

    # Rolling answers a new key, shown once; with no grace the old one stops at once.
    page.get_by_role("button", name="Roll the key backup script").click()
    expect(new_key).to_be_visible()
    rolled = new_key.input_value()
    assert rolled != key
    expect(a.status()).to_contain_text('Rolled the key "backup script".')
    a.shot("06-rolled")
    assert http_call(port, "GET", "/api/clock/", token=key)[0] == 401
    assert http_call(port, "GET", "/api/clock/", token=rolled)[0] == 200

    # Deleting asks first; declined, nothing happens; accepted, the key is refused.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete the key backup script").click()
    expect(keys_rows(a).filter(has_text="backup script")).to_have_count(1)
    assert http_call(port, "GET", "/api/clock/", token=rolled)[0] == 200
    messages = []

    def accept(dialog: Any) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="Delete the key backup script").click()
    expect(a.status()).to_have_text('Deleted the key "backup script".')
    expect(new_key).to_be_hidden()  # the next change hides a new key
    expect(keys_rows(a)).to_have_text(["No API keys yet."])
    assert messages == ['Delete the key "backup script"? Programs using it are refused at once.']
    assert http_call(port, "GET", "/api/clock/", token=rolled)[0] == 401
    a.shot("07-deleted")

    # Logging out revokes the token and forgets it.
    held = a.token()
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(a.status()).to_have_text("Logged out. This token is revoked.")
    assert a.token() is None
    assert http_call(port, "GET", "/api/hello/", token=held)[0] == 401


def test_an_old_password_proof_asks_for_the_password_then_goes_on(serve, devices) -> None:
    port = serve(reauthentication_max_age=2)
    a = devices("reauth", port)
    a.log_in("cli")
    page = a.page
    time.sleep(3)  # the login's password proof is now older than the server accepts

    page.get_by_label("Name", exact=True).fill("deploy")
    page.get_by_role("button", name="Create key").click()
    expect(a.status()).to_have_text("Confirm your password to go on.")
    expect(page.locator("#reauth-why")).to_contain_text("in the last 2 seconds")
    password = page.locator("#reauth-form").get_by_label("Password")
    expect(password).to_be_focused()
    expect(page.get_by_label("Key", exact=True)).to_be_hidden()
    a.shot("01-asked")

    password.fill("not-the-password")
    page.get_by_role("button", name="Confirm password").click()
    expect(a.status()).to_have_text("Unable to log in with provided credentials.")
    password.fill(PASSWORD)
    page.get_by_role("button", name="Confirm password").click()
    # The key is created as soon as the password is confirmed: no second click.
    expect(page.get_by_label("Key", exact=True)).to_be_visible()
    expect(a.status()).to_contain_text('Created the key "deploy".')
    expect(keys_rows(a).filter(has_text="deploy")).to_contain_text("all (unrestricted)")
    a.shot("02-created")
    key = page.get_by_label("Key", exact=True).input_value()
    assert http_call(port, "GET", "/api/profile/", token=key)[0] == 200


def test_a_keyboard_alone_logs_in_and_out(serve, devices) -> None:
    port = serve()
    a = devices("keyboard", port)
    page = a.page
    page.goto(a.base + "/")

    def focused() -> str:
        return page.evaluate("document.activeElement.id || document.activeElement.tagName")

    reached = []
    for _ in range(10):
        page.keyboard.press("Tab")
        reached.append(focused())
        if reached[-1] == "login-username":
            break
    assert reached[-1] == "login-username", reached
    page.keyboard.type("demo")
    page.keyboard.press("Tab")
    assert focused() == "login-password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    assert focused() == "login-client"
    page.keyboard.press("Control+A")
    page.keyboard.type("cli")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Log in"
    # Focus is visible: the outline the style sheet gives it.
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    expect(page.locator("#who")).to_have_text("Logged in as demo through the client cli.")
    assert focused() == "who-heading"  # focus moves to what the login revealed
    a.shot("01-logged-in")

    for _ in range(3):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Log out":
            break
    page.keyboard.press("Enter")
    expect(a.status()).to_have_text("Logged out. This token is revoked.")
    assert focused() == "login-username"


def test_the_logged_in_page_is_accessible_and_fits_320_pixels(serve, devices) -> None:
    from axe_playwright_python.sync_playwright import Axe

    port = serve()
    a = devices("a11y", port)
    a.log_in("web")
    page = a.page
    page.get_by_label("Name", exact=True).fill("report <script>alert(1)</script>")
    page.get_by_label("profile:read").check()
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_label("Key", exact=True)).to_be_visible()
    # A hostile name is shown as the text it is.
    expect(keys_rows(a).first.locator("td").first).to_have_text("report <script>alert(1)</script>")

    results = Axe().run(page)
    serious = [
        (violation["id"], violation["help"], [node["target"] for node in violation["nodes"]])
        for violation in results.response["violations"]
        if violation["impact"] in {"serious", "critical"}
    ]
    assert serious == []

    page.set_viewport_size({"width": 320, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    a.shot("01-320px")
