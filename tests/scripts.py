"""The repository's bin/ scripts, imported as modules so that tests can call their parts."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

BIN = Path(__file__).resolve().parent.parent / "bin"


def load(name: str) -> ModuleType:
    """bin/<name>.py as a module; bin/ is on sys.path only while it imports (its siblings)."""
    sys.path.insert(0, str(BIN))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BIN))
