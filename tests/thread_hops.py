"""A fixture that counts hops to a thread: each function run through ``sync_to_async``.

For tests of what an async path runs on the event loop: import ``counted_hops`` into a test
module, and ask for ``hops``.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import SyncToAsync

from durin import cache as token_cache


@pytest.fixture(name="hops")
def counted_hops(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The functions run through ``sync_to_async`` while the test runs, in order.

    The token cache's write check (at most once per interval, through Django's async cache
    API) is made due on the first read and not again: its clock stands still. So it cannot
    land on a request that is meant to make no hop.
    """
    calls: list[Any] = []
    original = SyncToAsync.__call__

    def counted(self: SyncToAsync, *args: Any, **kwargs: Any) -> Any:
        calls.append(self.func)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counted)
    monkeypatch.setattr(token_cache, "_clock", lambda: 0.0)
    monkeypatch.setattr(token_cache.WriteCheck, "next_at", -float("inf"))
    return calls
