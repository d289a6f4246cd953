"""durin's own receivers, connected in ``DurinConfig.ready()``.

They keep tokens and the token cache honest whatever deleted a token or changed
a user (a view, the admin, a cascade, a shell), once the change has committed.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import identify_hasher, is_password_usable
from django.db import router, transaction

from . import cache, services
from .models import AuthToken
from .settings import durin_settings


def invalidate_deleted_token(sender: type[AuthToken], instance: AuthToken, **kwargs: Any) -> None:
    digest = instance.digest
    transaction.on_commit(lambda: cache.invalidate([digest]), using=kwargs.get("using"))


def _only(update_fields: Any, *names: str) -> bool:
    return update_fields is not None and set(update_fields) <= set(names)


def _is_rehash(old_hash: str, instance: Any, update_fields: Any) -> bool:
    """Is this save Django re-hashing the same password at login?

    It does so (``save(update_fields=["password"])``, raw password dropped) when the
    old hash's hasher asks for an update. Any other new hash is a new password.
    """
    if not _only(update_fields, "password") or getattr(instance, "_password", None) is not None:
        return False
    if not (is_password_usable(old_hash) and is_password_usable(instance.password)):
        return False
    try:
        old_hasher, new_hasher = identify_hasher(old_hash), identify_hasher(instance.password)
    except ValueError:
        return False
    return old_hasher.algorithm != new_hasher.algorithm or old_hasher.must_update(old_hash)


def note_credential_change(sender: type, instance: Any, **kwargs: Any) -> None:
    """``pre_save`` of the user model: does this save change the password or deactivate?"""
    instance._durin_revoke_reason = None
    update_fields = kwargs.get("update_fields")
    if instance._state.adding or instance.pk is None or _only(update_fields, "last_login"):
        return
    fields = {f.attname for f in sender._meta.concrete_fields} & {"password", "is_active"}
    before = sender._default_manager.filter(pk=instance.pk).values(*fields).first()
    if before is None:
        return
    rehash = "password" in before and _is_rehash(before["password"], instance, update_fields)
    if (
        durin_settings.REVOKE_TOKENS_ON_PASSWORD_CHANGE
        and "password" in before
        and before["password"] != instance.password
        and not rehash
    ):
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
    digests = list(tokens.values_list("digest", flat=True))
    if digests:
        transaction.on_commit(
            lambda: cache.invalidate(digests), using=router.db_for_write(AuthToken)
        )
