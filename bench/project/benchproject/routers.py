"""Django's primary/replica routing, for the replica states of the scale phase."""

from __future__ import annotations

from typing import Any


class ReadsFromReplica:
    """Every read from the ``replica`` alias, every write to the primary."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return "replica"

    def db_for_write(self, model: type, **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True
