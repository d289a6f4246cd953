"""The token lookup by digest, compiled once per database connection.

``AuthToken.objects.select_related(...).get(digest=...)`` spends most of its time in
Python: Django compiles the same three-table statement, works out its converters and
related-object populators on every call, then the database answers in a fraction of
that. Here the statement is compiled by Django's own compiler once per connection (so
per thread, as connections are) and select-related list, and each request only runs it
and turns the row into instances the way ``QuerySet`` does: converters, then
``Model.from_db`` for the token and each joined model. The result is the same instances,
the same single query, the same init signals.

Anything the compiled form cannot stand for (a statement whose parameters are not just
the digest, composite keys) is looked up through the ORM instead, every time.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from django.db import connections, router
from django.db.models.query import get_related_populators

from .models import AuthToken

#: Stands for the digest while compiling; no digest (64 hex digits) can look like it.
_PLACEHOLDER = "durin:digest"


class Uncompilable(Exception):
    """The statement needs the ORM on every call."""


class Lookup:
    """The compiled ``SELECT`` of one token by digest, with the related models joined."""

    def __init__(self, alias: str, related: tuple[str, ...]) -> None:
        queryset = AuthToken.objects.db_manager(alias).select_related(*related)
        compiler = queryset.filter(digest=_PLACEHOLDER).query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        if list(params) != [_PLACEHOLDER] or compiler.annotation_col_map:
            raise Uncompilable(sql)
        columns = [selected[0] for selected in compiler.select[: compiler.col_count]]
        has_composite = getattr(compiler, "has_composite_fields", None)  # Django >= 5.2
        if has_composite is not None and has_composite(columns):
            raise Uncompilable(sql)
        klass_info = compiler.klass_info
        first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        token_fields = [selected[0].target.attname for selected in compiler.select[first:last]]
        # Django >= 6.1 gives querysets a fetch mode, which instances and populators carry.
        fetch_mode = getattr(queryset, "_fetch_mode", None)
        if getattr(fetch_mode, "track_peers", False):
            raise Uncompilable(sql)
        with_mode = {} if fetch_mode is None else {"fetch_mode": fetch_mode}
        self.sql = sql
        self.compiler = compiler
        self.converters = compiler.get_converters(columns)
        self.token_slice = slice(first, last)
        self.build_token = functools.partial(AuthToken.from_db, alias, token_fields, **with_mode)
        self.populators = get_related_populators(
            klass_info, compiler.select, alias, *with_mode.values()
        )

    def fetch(self, digest: str) -> AuthToken | None:
        with self.compiler.connection.cursor() as cursor:
            cursor.execute(self.sql, (digest,))
            row = cursor.fetchone()
        if row is None:
            return None
        if self.converters:
            (row,) = self.compiler.apply_converters((row,), self.converters)
        token = self.build_token(row[self.token_slice])
        for populator in self.populators:
            populator.populate(row, token)
        return token


#: Bumped by ``forget``: statements compiled before are compiled again.
_epoch = 0


def compiled(connection: Any) -> dict[tuple[str, ...], Lookup | None]:
    """This connection's statements by select-related list (``None``: the ORM does it).

    Held by the connection itself, so they go when it goes (a connection per thread, or
    per request under ASGI), and a statement never runs on a connection it was not
    compiled for.
    """
    held = connection.__dict__.get("_durin_lookups")
    if held is None or held[0] != _epoch:
        held = connection._durin_lookups = (_epoch, {})
    return held[1]


def related_list(extra: Any) -> tuple[str, ...]:
    """``user`` and ``client`` always, then ``AUTHTOKEN_SELECT_RELATED_LIST``'s extras."""
    names = ["user", "client"]
    if isinstance(extra, (list, tuple)):
        names += [name for name in extra if name not in names]
    return tuple(names)


def find(digest: str, related: tuple[str, ...], *, primary_only: bool = False) -> AuthToken | None:
    """The token with this digest and its ``related`` models, in one query, or ``None``.

    Read where the router sends reads; a token not found on a replica is read once more
    on the primary, where a token issued a moment ago already is. ``primary_only`` skips
    the replica: for a token just revoked, a lagging replica would still hold it.
    """
    if primary_only:
        return _find_on(router.db_for_write(AuthToken), digest, related)
    alias = router.db_for_read(AuthToken)
    token = _find_on(alias, digest, related)
    if token is None:
        primary = router.db_for_write(AuthToken)
        if primary != alias:
            token = _find_on(primary, digest, related)
    return token


def reads_elsewhere() -> bool:
    """Whether the router reads tokens from another database than it writes them to."""
    return router.db_for_read(AuthToken) != router.db_for_write(AuthToken)


def from_replica(token: AuthToken) -> bool:
    """Whether ``token`` was read elsewhere than on the database it is written to."""
    return token._state.db != router.db_for_write(AuthToken)


def _find_on(alias: str, digest: str, related: tuple[str, ...]) -> AuthToken | None:
    connection = connections[alias]
    statements = compiled(connection)
    try:
        lookup = statements[related]
    except KeyError:
        try:
            lookup = statements[related] = Lookup(alias, related)
        except Uncompilable:
            lookup = statements[related] = None
    if lookup is None:
        return _orm_find(alias, digest, related)
    return lookup.fetch(digest)


def _orm_find(alias: str, digest: str, related: Iterable[str]) -> AuthToken | None:
    try:
        return AuthToken.objects.using(alias).select_related(*related).get(digest=digest)
    except AuthToken.DoesNotExist:
        return None


def forget(**kwargs: Any) -> None:
    """``setting_changed`` receiver: compile again under the new settings, on every
    connection of every thread."""
    global _epoch
    _epoch += 1
