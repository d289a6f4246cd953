"""The SQLite suite under each supported Django, and under the oldest supported DRF.

``bin/test`` runs every session after its main passes, with the Pythons that
``bin/preflight.py`` found (on PATH or in pyenv) first on PATH; ``nox -s django6.1`` runs
one. The versions here are the ranges and classifiers ``pyproject.toml`` declares: change
them together (``tests/test_packaging.py`` compares them).
"""

from __future__ import annotations

import nox

nox.options.reuse_existing_virtualenvs = True  # installing into a kept venv is quick
nox.options.error_on_missing_interpreters = True  # a missing Python fails, never skips

TEST_GROUP = nox.project.dependency_groups(nox.project.load_toml("pyproject.toml"), "test")

#: (Python, Django, DRF or None for the newest): each Django's oldest supported Python
#: (6.x needs 3.12), the newest Python for the newest Django, DRF 3.15 with Django 4.2.
MATRIX = [
    ("3.10", "4.2", "3.15"),
    ("3.12", "5.2", None),
    ("3.12", "6.0", None),
    ("3.13", "6.1", None),
]


def suite(django: str, drf: str | None):
    def run(session: nox.Session) -> None:
        drf_requirement = f"djangorestframework~={drf}.0" if drf else "djangorestframework"
        session.install("-e", ".", *TEST_GROUP, f"Django~={django}.0", drf_requirement)
        session.run(
            "python", "-m", "pytest", "-m", "not slow", "-p", "no:cacheprovider",
            *session.posargs,
            env={"DURIN_TEST_DB": "sqlite", "DURIN_TEST_CACHE": "locmem"},
        )  # fmt: skip

    run.__doc__ = f"SQLite suite, Django {django}, DRF {drf or 'newest'}"
    return run


for _python, _django, _drf in MATRIX:
    nox.session(suite(_django, _drf), python=_python, name=f"django{_django}")
