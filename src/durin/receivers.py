"""durin's own receivers, connected in ``DurinConfig.ready()``.

They keep tokens and the token cache honest whatever deleted a token or changed
a user (a view, the admin, a cascade, a shell), once the change has committed.
"""

from __future__ import annotations

import functools
import sys
from itertools import islice
from types import CodeType
from typing import Any

from django.db import router, transaction

from . import cache, services
from .models import AuthToken, AuthTokenQuerySet
from .settings import durin_settings

#: Cached entries marked stale per cache round trip.
INVALIDATE_BATCH = 1000


def invalidate_deleted_token(sender: type[AuthToken], instance: AuthToken, **kwargs: Any) -> None:
    digest = instance.digest
    transaction.on_commit(lambda: cache.invalidate([digest]), using=kwargs.get("using"))


def invalidate_saved_token(sender: type[AuthToken], instance: AuthToken, **kwargs: Any) -> None:
    """``post_save`` of ``AuthToken``: a row changed with ``save()`` (its scopes, in a shell
    or an admin of the project's own) must not be served from the cache as it was. durin
    itself only inserts with ``save()``; ``QuerySet.update`` sends no signal."""
    if kwargs.get("created"):
        return
    digest = instance.digest
    transaction.on_commit(lambda: cache.invalidate([digest]), using=kwargs.get("using"))


def _only(update_fields: Any, *names: str) -> bool:
    return update_fields is not None and set(update_fields) <= set(names)


@functools.cache
def _django_rehash_code() -> CodeType | None:
    """The code of the ``setter`` that ``AbstractBaseUser.check_password`` hands Django's
    hasher: it re-hashes the password just checked, and nothing else calls it."""
    from django.contrib.auth.base_user import AbstractBaseUser

    for const in AbstractBaseUser.check_password.__code__.co_consts:
        if isinstance(const, CodeType) and const.co_name == "setter":
            return const
    return None


#: How far up the stack the re-hash's ``setter`` may be: the signal's dispatch,
#: ``save_base``, ``save`` and a few project overrides of ``save``.
REHASH_SEARCH_DEPTH = 25


def _is_rehash(instance: Any, update_fields: Any, stored_hash: str) -> bool:
    """Is this save Django re-hashing, at a login, the password it has just checked?

    Only the ``setter`` inside ``AbstractBaseUser.check_password`` does that, after
    the raw password matched the old hash; it saves ``update_fields=["password"]``.
    The raw password is gone by now, so the setter is recognised on the stack, for
    this very instance. Anything else that saves a new hash (``set_password``,
    ``user.password = make_password(...)``) is a password change. Where the setter
    cannot be seen (a user model overriding ``check_password``, ``acheck_password``,
    whose ``asave`` runs the save in another thread), a re-hash counts as a change:
    the tokens are revoked, never wrongly kept.
    """
    code = _django_rehash_code()
    if code is None or not _only(update_fields, "password"):
        return False
    frame = sys._getframe(1)
    for _ in range(REHASH_SEARCH_DEPTH):
        if frame is None:
            return False
        if frame.f_code is code and frame.f_locals.get("self") is instance:
            # The hash that matched the raw password, in ``hashers.check_password``: a
            # re-hash only if it is the stored one. An instance loaded before a password
            # change (a login racing it), or given another hash in memory, writes a
            # password back that the database no longer holds: a change.
            checked = frame.f_back.f_locals.get("encoded") if frame.f_back else None
            return checked is not None and checked == stored_hash
        frame = frame.f_back
    return False


def note_credential_change(sender: type, instance: Any, **kwargs: Any) -> None:
    """``pre_save`` of the user model: does this save change the password or deactivate?"""
    instance._durin_revoke_reason = None
    update_fields = kwargs.get("update_fields")
    if instance._state.adding or instance.pk is None or _only(update_fields, "last_login"):
        return
    fields = {f.attname for f in sender._meta.concrete_fields} & {"password", "is_active"}
    # What the database being written holds, not a replica that may lag behind it (a user
    # created, or reactivated, a moment ago would not count as changed).
    using = kwargs.get("using") or router.db_for_write(sender, instance=instance)
    before = sender._default_manager.using(using).filter(pk=instance.pk).values(*fields).first()
    if before is None:
        return
    changed = (
        "password" in before
        and before["password"] != instance.password
        and not _is_rehash(instance, update_fields, before["password"])
    )
    # A login holding this instance must not issue a token now (services.issue_token).
    instance._durin_password_changed = changed
    if durin_settings.REVOKE_TOKENS_ON_PASSWORD_CHANGE and changed:
        instance._durin_revoke_reason = "password_change"
    elif (
        durin_settings.REVOKE_TOKENS_ON_DEACTIVATION
        and before.get("is_active")
        and not instance.is_active
    ):
        instance._durin_revoke_reason = "deactivation"


def revoke_or_invalidate_user_tokens(sender: type, instance: Any, **kwargs: Any) -> None:
    """``post_save`` of the user model: revoke on a credential change, else refresh the cache."""
    update_fields = kwargs.get("update_fields")
    if kwargs.get("created") or _only(update_fields, "last_login"):
        return
    tokens = AuthToken.objects.filter(user_id=instance.pk)
    reason = getattr(instance, "_durin_revoke_reason", None)
    if reason:
        services.revoke_tokens(tokens, reason)
        return
    # Anything else about the user (is_active, username...) may be in cached entries.
    _invalidate_after_commit(tokens)


def invalidate_client_tokens(sender: type, instance: Any, **kwargs: Any) -> None:
    """``post_save`` of ``Client`` (admin, ``create_client --update``, a shell): cached
    entries carry the client's fields (name, session rules...), so every process must read
    the new ones."""
    if not kwargs.get("created"):
        _invalidate_after_commit(AuthToken.objects.live().filter(client_id=instance.pk))


def _invalidate_after_commit(tokens: AuthTokenQuerySet) -> None:
    """Mark the cached entries of ``tokens`` stale once the change has committed, a batch
    per cache round trip (a client may have many live tokens)."""

    def invalidate() -> None:
        # On the primary: a replica would not name a token issued a moment ago.
        digests = tokens.on_primary().values_list("digest", flat=True).iterator()
        while batch := list(islice(digests, INVALIDATE_BATCH)):
            cache.invalidate(batch)

    transaction.on_commit(invalidate, using=router.db_for_write(AuthToken))
