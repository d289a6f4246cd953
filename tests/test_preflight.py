"""bin/preflight.py: bin/test says exactly what is missing before anything long runs, and
installs from apt-get what it can; nox's Pythons come from PATH or pyenv, never skipped."""

from __future__ import annotations

import stat
from pathlib import Path
from types import ModuleType

import pytest

from tests.scripts import load


@pytest.fixture
def preflight() -> ModuleType:
    return load("preflight")


def fake_python(path: Path, prints: str = "3.99", status: int = 0) -> Path:
    """An executable that answers the version question as a Python (or a broken shim) would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {prints}\nexit {status}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_broken_shim_on_path_falls_back_to_pyenvs_newest(preflight, tmp_path: Path) -> None:
    shims = fake_python(tmp_path / "shims" / "python3.99", status=127).parent
    fake_python(tmp_path / "pyenv" / "versions" / "3.99.9" / "bin" / "python3.99")
    newest = fake_python(tmp_path / "pyenv" / "versions" / "3.99.10" / "bin" / "python3.99")

    found = preflight.find_python("3.99", str(shims), tmp_path / "pyenv")

    assert found == str(newest.parent)


def test_a_working_python_on_path_comes_first(preflight, tmp_path: Path) -> None:
    on_path = fake_python(tmp_path / "bin" / "python3.99")
    fake_python(tmp_path / "pyenv" / "versions" / "3.99.1" / "bin" / "python3.99")

    assert preflight.find_python("3.99", str(on_path.parent), tmp_path / "pyenv") == str(
        on_path.parent
    )


def test_a_python_of_another_version_does_not_count(preflight, tmp_path: Path) -> None:
    liar = fake_python(tmp_path / "bin" / "python3.99", prints="3.11")

    assert preflight.find_python("3.99", str(liar.parent), tmp_path / "pyenv") is None


def test_a_missing_nox_python_is_named_with_its_sessions(preflight, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(
        preflight, "nox_matrix", lambda: [("3.99", "8.1", None), ("3.99", "9.0", None)]
    )
    environ = {"PATH": str(tmp_path), "PYENV_ROOT": str(tmp_path / "pyenv")}

    directories, missing = preflight.nox_pythons(environ)

    assert directories == []
    (need,) = missing
    assert need.what.startswith("Python 3.99 (nox sessions django8.1, django9.0)")
    assert need.how == "pyenv install 3.99"


def test_the_noxfile_matrix_is_read_without_nox(preflight) -> None:
    matrix = preflight.nox_matrix()
    assert ("3.13", "6.1", None) in matrix
    assert all(len(row) == 3 for row in matrix)


def test_servers_neither_running_nor_installed_are_named(preflight, monkeypatch) -> None:
    monkeypatch.setattr(preflight.services, "answers", lambda port: False)
    monkeypatch.setattr(
        preflight,
        "SERVERS",
        {name: (lambda: False, *rest) for name, (_, *rest) in preflight.SERVERS.items()},
    )

    needs = {need.what.split()[0]: need for need in preflight.servers()}

    assert set(needs) == {"PostgreSQL", "MariaDB", "Redis"}
    assert needs["Redis"].apt == ("redis-server",)  # works as installed: bin/test installs it
    assert needs["PostgreSQL"].apt == ()  # needs trust authentication first: named, not installed
    assert "127.0.0.1/32 trust" in needs["PostgreSQL"].how
    assert "PASSWORD('')" in needs["MariaDB"].how


def test_a_missing_chromium_is_named_with_its_apt_package(preflight, tmp_path: Path) -> None:
    (need,) = preflight.browser(tmp_path / "chromium")

    assert need.apt == ("chromium",)
    assert need.what.startswith(f"Chromium at {tmp_path / 'chromium'}")


def test_a_chromium_that_cannot_run_counts_as_missing(preflight, tmp_path: Path) -> None:
    chromium = tmp_path / "chromium"
    chromium.write_text("#!/bin/sh\n")  # not executable

    assert [need.apt for need in preflight.browser(chromium)] == [("chromium",)]
    chromium.chmod(0o755)
    assert preflight.browser(chromium) == []


def test_the_survey_asks_for_chromium(preflight, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(preflight, "CHROMIUM", tmp_path / "chromium")
    monkeypatch.setattr(preflight, "build_tools", lambda: [])
    monkeypatch.setattr(preflight, "servers", lambda: [])
    monkeypatch.setattr(preflight, "nox_pythons", lambda environ: (["/a/bin"], []))

    directories, (need,) = preflight.survey({})

    assert directories == ["/a/bin"]
    assert need.apt == ("chromium",) and "tests/test_browser.py" in need.what


def test_nothing_missing_prints_the_path_for_nox(preflight, monkeypatch, capsys) -> None:
    monkeypatch.setattr(preflight, "survey", lambda environ: (["/a/bin", "/b/bin"], []))

    assert preflight.main([]) == 0
    assert capsys.readouterr().out == "/a/bin:/b/bin\n"


def test_missing_things_stop_the_run_and_say_how_to_get_them(
    preflight, monkeypatch, capsys
) -> None:
    missing = [
        preflight.Need("a C compiler (cc)", apt=("gcc",)),
        preflight.Need("Python 3.99 (nox sessions django9.0)", how="pyenv install 3.99"),
    ]
    monkeypatch.setattr(preflight, "survey", lambda environ: ([], missing))
    monkeypatch.setattr(preflight, "apt_install", pytest.fail)  # --no-install: never

    assert preflight.main(["--no-install"]) == 1
    output = capsys.readouterr()
    assert output.out == ""
    assert "  - a C compiler (cc)\n    get it: apt-get install gcc" in output.err
    assert "  - Python 3.99 (nox sessions django9.0)\n    get it: pyenv install 3.99" in output.err


def test_as_root_with_apt_it_installs_then_looks_again(preflight, monkeypatch, capsys) -> None:
    surveys = iter([
        ([], [preflight.Need("MariaDB's client library", apt=("libmariadb-dev", "pkg-config"))]),
        (["/a/bin"], []),
    ])  # fmt: skip
    installed = []
    monkeypatch.setattr(preflight, "survey", lambda environ: next(surveys))
    monkeypatch.setattr(preflight, "can_apt", lambda: True)
    monkeypatch.setattr(preflight, "apt_install", installed.append)

    assert preflight.main([]) == 0
    assert installed == [["libmariadb-dev", "pkg-config"]]
    assert capsys.readouterr().out == "/a/bin\n"
