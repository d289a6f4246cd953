"""Reads of durin's models from the ``replica`` alias, everything else from ``default``."""

from __future__ import annotations

from typing import Any


class DurinReadsFromReplica:
    def db_for_read(self, model: type, **hints: Any) -> str | None:
        return "replica" if model._meta.app_label == "durin" else None

    def db_for_write(self, model: type, **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == "default"
