"""Reads the documentation site's sources: its pages in navigation order, and the fenced code
blocks each page holds, so that tests can run every sample a reader would copy."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
MKDOCS = REPO / "mkdocs.yml"

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+)(?P<lang>[\w-]*)[^\n]*$")


@dataclass(frozen=True)
class Sample:
    """One fenced code block: where it is, its language and its text (dedented)."""

    page: str
    line: int
    lang: str
    code: str

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"


def nav_pages() -> list[str]:
    """The pages of mkdocs.yml's ``nav``, in reading order."""

    def walk(entry: object) -> list[str]:
        if isinstance(entry, str):
            return [entry]
        if isinstance(entry, list):
            return [page for item in entry for page in walk(item)]
        if isinstance(entry, dict):
            return [page for value in entry.values() for page in walk(value)]
        return []

    return walk(yaml.safe_load(MKDOCS.read_text(encoding="utf-8"))["nav"])


def samples(page: str) -> list[Sample]:
    """Every fenced block of ``docs/<page>``, in order; an unclosed fence is an error."""
    lines = (DOCS / page).read_text(encoding="utf-8").splitlines()
    found: list[Sample] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        closing = re.compile(rf"^[ \t]*{opening['fence']}[ \t]*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        if end == len(lines):
            raise ValueError(f"docs/{page}:{index + 1}: a code block is never closed")
        code = textwrap.dedent("\n".join(lines[index + 1 : end])) + "\n"
        found.append(Sample(page, index + 1, opening["lang"], code))
        index = end + 1
    return found


def shell_commands(code: str) -> list[str]:
    """The commands of a shell block: continuation lines joined, comment lines and blanks dropped
    (a trailing comment stays: ``shlex.split(..., comments=True)`` drops it, quotes heeded)."""
    joined = re.sub(r"\\\n\s*", " ", code)
    return [line.strip() for line in joined.splitlines() if line.strip()[:1] not in ("", "#")]
