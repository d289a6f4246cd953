"""A custom user model of the kind projects write: a UUID key, the e-mail as the name one
logs in with, its own ``is_active``, and a foreign key that the token query joins."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.signals import post_init
from django.dispatch import receiver


class Organisation(models.Model):
    name = models.CharField(max_length=100)


class UserManager(BaseUserManager):
    def create_user(self, email: str, password: str, **fields: Any) -> User:
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(AbstractBaseUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    is_active = models.BooleanField(default=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="users")

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    objects = UserManager()


@receiver(post_init, sender=User)
def remember_email_at_init(sender: type[User], instance: User, **kwargs: Any) -> None:
    """What change-tracking code does: note a field's value as the instance was built."""
    if "email" in instance.__dict__:  # never load a deferred field from a receiver
        instance.email_at_init = instance.email
