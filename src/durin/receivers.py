"""durin's own receivers, connected in ``DurinConfig.ready()``.

They keep the token cache honest whatever deleted a token or changed a user
(a view, the admin, a cascade, a shell), once the change has committed.
"""

from __future__ import annotations

from typing import Any

from django.db import router, transaction

from . import cache
from .models import AuthToken


def invalidate_deleted_token(sender: type[AuthToken], instance: AuthToken, **kwargs: Any) -> None:
    digest = instance.digest
    transaction.on_commit(lambda: cache.invalidate([digest]), using=kwargs.get("using"))


def invalidate_user_tokens(sender: type, instance: Any, **kwargs: Any) -> None:
    """A saved user (deactivated, renamed, new password...) must not be served from the cache."""
    update_fields = kwargs.get("update_fields")
    if kwargs.get("created") or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    digests = list(
        AuthToken.objects.filter(user_id=instance.pk).values_list("digest", flat=True)
    )
    if digests:
        transaction.on_commit(
            lambda: cache.invalidate(digests), using=router.db_for_write(AuthToken)
        )
