"""The distribution is drf-durin (``pip install durin`` installs an unrelated project), with
its project URLs and a classifier for every Django the suite runs on (noxfile.py)."""

from __future__ import annotations

import email
import importlib.metadata
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import trove_classifiers

from tests.scripts import load

REPO = Path(__file__).resolve().parent.parent
HOME = "https://github.com/drf-durin/drf-durin"


def django_classifiers(metadata: email.message.Message) -> set[str]:
    return {c for c in metadata.get_all("Classifier") if c.startswith("Framework :: Django ::")}


def expected_django_classifiers() -> set[str]:
    return {f"Framework :: Django :: {django}" for _, django, _ in load("preflight").nox_matrix()}


def test_durin_is_imported_from_drf_durin() -> None:
    assert "drf-durin" in importlib.metadata.packages_distributions()["durin"]
    assert importlib.metadata.metadata("drf-durin")["Name"] == "drf-durin"


def test_project_urls() -> None:
    urls = dict(
        entry.split(", ", 1)
        for entry in importlib.metadata.metadata("drf-durin").get_all("Project-URL")
    )
    assert urls == {
        "Homepage": HOME,
        "Documentation": f"{HOME}#readme",
        "Repository": HOME,
        "Issues": f"{HOME}/issues",
    }


def test_a_django_classifier_for_each_django_the_suite_runs_and_no_other() -> None:
    assert django_classifiers(importlib.metadata.metadata("drf-durin")) == (
        expected_django_classifiers()
    )
    assert len(expected_django_classifiers()) >= 4  # the matrix was read


def test_a_python_classifier_for_each_python_the_suite_runs() -> None:
    classifiers = importlib.metadata.metadata("drf-durin").get_all("Classifier")
    for python, _, _ in load("preflight").nox_matrix():
        assert f"Programming Language :: Python :: {python}" in classifiers


def test_the_package_index_knows_every_classifier() -> None:
    """PyPI refuses an upload with a classifier it does not list."""
    classifiers = importlib.metadata.metadata("drf-durin").get_all("Classifier")
    assert sorted(set(classifiers) - trove_classifiers.classifiers) == []


@pytest.mark.slow
def test_the_wheel_pip_builds_is_drf_durin(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(REPO)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("*.whl")
    assert wheel.name.startswith("drf_durin-")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata_file,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = email.message_from_bytes(archive.read(metadata_file))
    assert metadata["Name"] == "drf-durin"
    assert django_classifiers(metadata) == expected_django_classifiers()
    assert f"Homepage, {HOME}" in metadata.get_all("Project-URL")
    assert {n.split("/")[0] for n in names} == {"durin", metadata_file.split("/")[0]}
    assert {"durin/__init__.py", "durin/py.typed"} <= set(names)
