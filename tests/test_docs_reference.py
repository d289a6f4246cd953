"""The reference pages (docs/settings.md, checks.md, signals.md, commands.md and install.md's
Client fields) against the code: a setting, check, signal, reason, option or field added,
removed or changed without its page fails here."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core import checks as django_checks
from django.core.management import load_command_class
from django.core.management.base import BaseCommand
from django.dispatch import Signal
from django.urls import reverse
from rest_framework.settings import DEFAULTS as DRF_DEFAULTS

import durin
from durin import signals as durin_signals
from durin.auth import TokenAuthentication
from durin.models import AuthToken, Client
from durin.settings import DEFAULTS, DRF_DATETIME_FORMAT
from durin.validators import default_token_ttl

from .conftest import PASSWORD, auth_header

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SRC = Path(durin.__file__).resolve().parent
SOURCES = sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


# --- reading the pages ------------------------------------------------------------------


def table(page: str, header: list[str]) -> list[list[str]]:
    """The rows of the one table in ``docs/<page>`` whose header is ``header``."""
    lines = (DOCS / page).read_text().splitlines()
    found = [i for i, line in enumerate(lines) if cells(line) == header]
    assert len(found) == 1, f"{page}: expected one table headed {header}, found {len(found)}"
    rows = []
    for line in lines[found[0] + 2 :]:
        if not line.startswith("|"):
            break
        row = cells(line)
        assert len(row) == len(header), f"{page}: a row has {len(row)} cells: {line}"
        rows.append(row)
    return rows


def cells(line: str) -> list[str]:
    if not line.startswith("|"):
        return []
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def quoted(cell: str) -> list[str]:
    """The `code` spans of a cell."""
    return re.findall(r"`([^`]+)`", cell)


def one_name(cell: str) -> str:
    names = quoted(cell)
    assert len(names) == 1, f"expected one `name` in {cell!r}"
    return names[0]


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


# --- docs/settings.md -------------------------------------------------------------------

SETTINGS = table("settings.md", ["key", "default", "meaning"])

#: Default cells that are no Python literal, and what they stand for.
NAMED_DEFAULTS = {
    # Not a value: the default follows REST_FRAMEWORK, looked up when the setting is read.
    "DRF's `DATETIME_FORMAT`": DRF_DATETIME_FORMAT,
}


def default_value(cell: str) -> Any:
    """A default cell: a `timedelta(...)` of whole-number keywords, a Python literal (in
    backticks or not), or one of ``NAMED_DEFAULTS``."""
    if cell in NAMED_DEFAULTS:
        return NAMED_DEFAULTS[cell]
    text = cell[1:-1] if cell.startswith("`") and cell.endswith("`") else cell
    node = ast.parse(text, mode="eval").body
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "timedelta":
        assert not node.args, f"write timedelta with keywords: {cell}"
        return timedelta(**{kw.arg: ast.literal_eval(kw.value) for kw in node.keywords})
    return ast.literal_eval(node)


def test_every_rest_durin_setting_has_one_row():
    names = [one_name(key) for key, _, _ in SETTINGS]
    assert len(names) == len(set(names)), "a setting has two rows"
    assert set(names) == set(DEFAULTS)


@pytest.mark.parametrize(("key", "default"), [(row[0], row[1]) for row in SETTINGS])
def test_each_documented_default_is_the_real_one(key, default):
    name = one_name(key)
    value = default_value(default)
    assert value == DEFAULTS[name] and type(value) is type(DEFAULTS[name]), (name, default)


def django_settings_read() -> set[str]:
    """Every setting durin's code reads from ``django.conf.settings`` (``settings.X`` or
    ``getattr(settings, "X", ...)``), and those whose change resets what it derived."""
    from durin.cache import NAMESPACE_SETTINGS
    from durin.settings import WATCHED_SETTINGS

    names = set(NAMESPACE_SETTINGS | WATCHED_SETTINGS)
    for path in SRC.rglob("*.py"):
        tree = parsed(path)
        imports_settings = any(
            isinstance(node, ast.ImportFrom)
            and node.module == "django.conf"
            and any(alias.name == "settings" and alias.asname is None for alias in node.names)
            for node in ast.walk(tree)
        )
        if not imports_settings:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and getattr(node.value, "id", None) == "settings":
                names.add(node.attr)
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "getattr"
                and getattr(node.args[0], "id", None) == "settings"
                and isinstance(node.args[1], ast.Constant)
            ):
                names.add(node.args[1].value)
    return {name for name in names if name.isupper()}


def test_the_other_settings_section_names_every_django_setting_durin_reads():
    rows = table("settings.md", ["setting", "what durin does with it"])
    documented = [name for setting, _ in rows for name in quoted(setting)]
    assert len(documented) == len(set(documented))
    assert set(documented) == django_settings_read() - {"REST_DURIN"}


def test_the_rest_framework_row_names_every_drf_setting_durin_reads():
    rows = table("settings.md", ["setting", "what durin does with it"])
    (meaning,) = [meaning for setting, meaning in rows if quoted(setting) == ["REST_FRAMEWORK"]]
    documented = {re.match(r"[A-Z_]+", name).group() for name in quoted(meaning)}
    documented &= set(DRF_DEFAULTS)  # durin's own settings named in passing are not DRF's
    read = set()
    for path in SOURCES:
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Attribute) and getattr(node.value, "id", None) == (
                "api_settings"
            ):
                read.add(node.attr)
            # REST_FRAMEWORK read as a dict: rest_framework.get("DEFAULT_...").
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "get":
                read |= {
                    arg.value
                    for arg in node.args[:1]
                    if isinstance(arg, ast.Constant) and arg.value in DRF_DEFAULTS
                }
    assert documented == read


# --- docs/checks.md ---------------------------------------------------------------------

CHECKS = table("checks.md", ["id", "level", "kind", "fires when", "what to do"])
CHECKS_SOURCE = SRC / "checks.py"


def emitted_ids() -> dict[str, set[str]]:
    """Each check id in durin's code, with the classes (``Error``, ``Warning``) that carry it."""
    ids: dict[str, set[str]] = {}
    for path in SOURCES:
        for node in ast.walk(parsed(path)):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                value = getattr(keyword.value, "value", None)
                if keyword.arg == "id" and isinstance(value, str) and value.startswith("durin."):
                    ids.setdefault(value, set()).add(getattr(node.func, "id", "?"))
    return ids


def ids_by_function() -> dict[str, set[str]]:
    """For each function of durin/checks.py, the ids it can emit, through the module's
    own functions it calls."""
    functions = {
        node.name: node for node in parsed(CHECKS_SOURCE).body if isinstance(node, ast.FunctionDef)
    }
    direct: dict[str, set[str]] = {}
    calls: dict[str, set[str]] = {}
    for name, function in functions.items():
        direct[name], calls[name] = set(), set()
        for node in ast.walk(function):
            if isinstance(node, ast.Call):
                callee = getattr(node.func, "id", None)
                if callee in functions:
                    calls[name].add(callee)
                for keyword in node.keywords:
                    if keyword.arg == "id" and isinstance(keyword.value, ast.Constant):
                        direct[name].add(keyword.value.value)

    def reach(name: str, seen: set[str]) -> set[str]:
        seen.add(name)
        found = set(direct[name])
        for callee in calls[name] - seen:
            found |= reach(callee, seen)
        return found

    return {name: reach(name, set()) for name in functions}


def registered_kinds() -> dict[str, set[str]]:
    """Each id, with the kinds of the registered durin checks that can emit it."""
    registry = django_checks.registry.registry
    reached = ids_by_function()
    kinds: dict[str, set[str]] = {}
    for check in registry.registered_checks | registry.deployment_checks:
        if getattr(check, "__module__", None) != "durin.checks":
            continue
        if check in registry.deployment_checks:
            kind = "deploy"
        elif django_checks.Tags.database in check.tags:
            kind = "database"  # Django passes databases only to check --database and migrate
        else:
            kind = "default"
        for check_id in reached[check.__name__]:
            kinds.setdefault(check_id, set()).add(kind)
    return kinds


def test_every_check_id_the_code_emits_has_one_row():
    documented = [one_name(row[0]) for row in CHECKS]
    assert len(documented) == len(set(documented))
    assert set(documented) == set(emitted_ids())


@pytest.mark.parametrize("row", CHECKS, ids=[row[0].strip("`") for row in CHECKS])
def test_each_check_row_has_its_real_level_and_kind(row):
    check_id, level, kind = one_name(row[0]), row[1], row[2]
    expected_level = {"E": ("error", "Error"), "W": ("warning", "Warning")}[check_id[6]]
    assert level == expected_level[0]
    assert emitted_ids()[check_id] == {expected_level[1]}
    assert registered_kinds()[check_id] == {kind}


def test_each_check_id_is_triggered_by_a_test():
    """Some other test names each id; each one is an assertion on the ids a real
    configuration makes the checks emit (test_checks.py, test_scopes.py for E010 and W008,
    test_login_throttle_checks.py for E007)."""
    tests = [p for p in Path(__file__).parent.rglob("*.py") if p.name != Path(__file__).name]
    text = "\n".join(p.read_text() for p in tests)
    untested = [one_name(row[0]) for row in CHECKS if one_name(row[0]) not in text]
    assert untested == []


# --- docs/signals.md --------------------------------------------------------------------

SIGNALS = table("signals.md", ["signal", "sent when", "sender", "arguments"])
ARGUMENTS = table("signals.md", ["argument", "what it is"])
REASONS = table("signals.md", ["reason", "sent when"])


def documented_arguments(name: str) -> set[str]:
    (row,) = [row for row in SIGNALS if one_name(row[0]) == name]
    return set(quoted(row[3]))


def documented_sender(name: str) -> str:
    (row,) = [row for row in SIGNALS if one_name(row[0]) == name]
    return row[2]


def test_every_signal_of_durin_signals_has_one_row():
    documented = [one_name(row[0]) for row in SIGNALS]
    real = {name for name, value in vars(durin_signals).items() if isinstance(value, Signal)}
    assert len(documented) == len(set(documented))
    assert set(documented) == real


def test_every_argument_is_explained_once():
    explained = [one_name(row[0]) for row in ARGUMENTS]
    assert len(explained) == len(set(explained))
    assert set(explained) == {arg for row in SIGNALS for arg in quoted(row[3])}


class Caught:
    """The sender and keyword arguments of every signal of ``durin.signals`` sent in a
    ``with`` block."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any, set[str]]] = []
        self.receivers = []

    def __enter__(self) -> Caught:
        for name, signal in vars(durin_signals).items():
            if isinstance(signal, Signal):

                def receive(sender: Any, signal: Any, _name: str = name, **kwargs: Any) -> None:
                    self.sent.append((_name, sender, set(kwargs)))

                signal.connect(receive, weak=False)
                self.receivers.append((signal, receive))
        return self

    def __exit__(self, *exc: Any) -> None:
        for signal, receive in self.receivers:
            signal.disconnect(receive)

    def only(self, name: str) -> tuple[Any, set[str]]:
        assert [sent[0] for sent in self.sent] == [name], self.sent
        return self.sent[0][1], self.sent[0][2]


def assert_documented(name: str, sender: Any, arguments: set[str]) -> None:
    assert arguments == documented_arguments(name)
    if documented_sender(name) == "the authentication class":
        assert isinstance(sender, type) and issubclass(sender, TokenAuthentication)
    else:
        assert sender is {"AuthToken": AuthToken}[one_name(documented_sender(name))]


def log_in(api: Any, client: str = "web") -> str:
    body = {"username": "alice", "password": PASSWORD, "client": client}
    response = api.post(reverse("durin_login"), body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


@pytest.mark.django_db
def test_token_issued_by_a_login_sends_the_documented_arguments(api, user, web):
    with Caught() as caught:
        log_in(api)
    assert_documented("token_issued", *caught.only("token_issued"))


@pytest.mark.django_db
@pytest.mark.parametrize("rotate", [False, True], ids=["renewal", "rotation"])
def test_token_renewed_by_a_refresh_sends_the_documented_arguments(api, user, make_client, rotate):
    make_client("web", rotate_on_refresh=rotate)
    token = log_in(api)
    with Caught() as caught:
        response = api.post(reverse("durin_refresh"), **auth_header(token))
    assert response.status_code == 200, response.content
    assert ("token" in response.json()) is rotate
    assert_documented("token_renewed", *caught.only("token_renewed"))


@pytest.mark.django_db
def test_token_revoked_by_a_logout_sends_the_documented_arguments(api, user, web):
    token = log_in(api)
    with Caught() as caught:
        assert api.post(reverse("durin_logout"), **auth_header(token)).status_code == 204
    assert_documented("token_revoked", *caught.only("token_revoked"))


@pytest.mark.django_db
def test_token_expired_sends_the_documented_arguments(api, user, web):
    token = AuthToken.objects.create(user, web)
    AuthToken.objects.filter(pk=token.pk).update(expiry=token.created - timedelta(seconds=1))
    with Caught() as caught:
        assert api.get(reverse("whoami"), **auth_header(token)).status_code == 401
    assert_documented("token_expired", *caught.only("token_expired"))


def reasons_in_code() -> set[str]:
    """The reason of every ``revoke_token(s)(tokens, reason, ...)`` call in durin's code.

    A reason is a string, a module constant, or a pass-through variable: ``revoke_token``'s
    own parameter, and the user receiver's ``reason``, which reads ``_durin_revoke_reason``
    (every string assigned to that attribute is a reason too). Any other form fails here,
    rather than hiding a reason.
    """
    reasons, passed_through = set(), set()
    for path in SOURCES:
        tree = parsed(path)
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
                and any(getattr(t, "attr", None) == "_durin_revoke_reason" for t in node.targets)
            ):
                reasons.add(node.value.value)
            if not isinstance(node, ast.Call):
                continue
            callee = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if callee not in ("revoke_token", "revoke_tokens"):
                continue
            keywords = {kw.arg: kw.value for kw in node.keywords}
            argument = node.args[1] if len(node.args) > 1 else keywords["reason"]
            if isinstance(argument, ast.Constant):
                reasons.add(argument.value)
            elif isinstance(argument, ast.Name) and argument.id in constants:
                reasons.add(constants[argument.id])
            else:
                passed_through.add((path.name, ast.unparse(argument)))
    assert passed_through == {("services.py", "reason"), ("receivers.py", "reason")}
    return reasons


def test_the_documented_reasons_are_those_the_code_sends():
    # That each action sends its reason is asserted where the action is tested: logout and
    # session_delete (test_views.py), logout_all and api_key_delete (test_compat.py,
    # test_api_keys.py), logout_others (test_logout_others.py), session_limit
    # (test_views.py, test_login_safety.py), admin (test_admin.py),
    # password_change and deactivation (test_revocation.py), reuse_detected
    # (test_rotation.py), revoked_by_possession (test_possession.py).
    documented = [one_name(row[0]) for row in REASONS]
    assert len(documented) == len(set(documented))
    assert set(documented) == reasons_in_code()


# --- docs/commands.md -------------------------------------------------------------------

COMMANDS_DIR = SRC / "management" / "commands"
COMMON_OPTIONS = {
    option
    for action in BaseCommand().create_parser("manage.py", "x")._actions
    for option in action.option_strings
}


def documented_commands() -> dict[str, set[str]]:
    """Each ``## command`` of commands.md, with the options its table names."""
    sections = re.split(r"^## ", (DOCS / "commands.md").read_text(), flags=re.M)[1:]
    found = {}
    for section in sections:
        name, _, body = section.partition("\n")
        rows = [cells(line) for line in body.splitlines() if line.startswith("|")]
        assert rows[0] == ["option", "meaning"], f"commands.md: {name} has no options table"
        found[name.strip()] = [option for row in rows[2:] for option in quoted(row[0])]
    return found


def parser_options(name: str) -> set[str]:
    parser = load_command_class("durin", name).create_parser("manage.py", name)
    options = set()
    for action in parser._actions:
        if not action.option_strings:
            options.add(action.dest)  # a positional argument, documented by its name
        options |= set(action.option_strings) - COMMON_OPTIONS
    return options


def test_every_command_durin_ships_has_a_section():
    shipped = {p.stem for p in COMMANDS_DIR.glob("*.py") if not p.stem.startswith("_")}
    assert set(documented_commands()) == shipped


@pytest.mark.parametrize("name", sorted(documented_commands()))
def test_each_command_documents_exactly_its_options(name):
    documented = documented_commands()[name]
    assert len(documented) == len(set(documented))
    assert set(documented) == parser_options(name)


def test_the_commands_page_is_in_the_navigation():
    assert "commands.md" in (ROOT / "mkdocs.yml").read_text()


# --- docs/install.md: Client fields -----------------------------------------------------

CLIENT_FIELDS = table("install.md", ["field", "default", "meaning"])

#: Default cells of the Client table that are words, and what each says of the field.
CLIENT_DEFAULT_WORDS = {
    "": lambda f: not f.has_default() and not f.null,  # none: a client must be named
    "`DEFAULT_TOKEN_TTL`": lambda f: f.default is default_token_ttl,  # read when a row is made
    "blank": lambda f: f.default == "",
    "empty": lambda f: not f.has_default() and f.null,  # NULL
}


def editable_client_fields() -> dict[str, Any]:
    return {
        field.name: field
        for field in Client._meta.get_fields()
        if field.concrete and field.editable and not field.auto_created
    }


def test_every_editable_client_field_has_one_row():
    documented = [one_name(row[0]) for row in CLIENT_FIELDS]
    assert len(documented) == len(set(documented))
    assert set(documented) == set(editable_client_fields())


@pytest.mark.parametrize(("field", "default"), [(row[0], row[1]) for row in CLIENT_FIELDS])
def test_each_client_default_is_the_real_one(field, default):
    model_field = editable_client_fields()[one_name(field)]
    if default in CLIENT_DEFAULT_WORDS:
        assert CLIENT_DEFAULT_WORDS[default](model_field)
        return
    text = default.strip("`")
    try:
        expected = ast.literal_eval(text)
    except ValueError:  # a bare word such as `revoke_oldest`: a string value
        expected = text
    assert model_field.default == expected and type(model_field.default) is type(expected)
