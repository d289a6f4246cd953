"""The user model of a project that customised it the ways Django documents."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models


class MemberManager(BaseUserManager):
    def create_user(self, email: str, password: str | None = None, **extra: Any) -> Member:
        member = self.model(email=self.normalize_email(email), **extra)
        member.set_password(password)
        member.save(using=self._db)
        return member


class RecentActions:
    """Per-instance state set up in ``__init__``. Listed after the model base, it is run by
    ``Model.__init__``'s own ``super().__init__()``, as cooperative mixins are."""

    def __init__(self) -> None:
        super().__init__()
        self.recent_actions: list[str] = []


class Member(AbstractBaseUser, PermissionsMixin, RecentActions):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    is_active = models.BooleanField(default=True)

    USERNAME_FIELD = "email"

    objects = MemberManager()
