"""Permissions by client. Subclass and fill in the names of the clients concerned.

A request not authenticated with a durin token is refused by both.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .models import AuthToken


class IsTokenAuthenticated(BasePermission):
    """The request carries a valid durin token (not a session, not another scheme)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, AuthToken)


class AllowSpecificClients(BasePermission):
    """Only tokens of the clients named in ``allowed_clients_name`` get through."""

    allowed_clients_name: tuple[str, ...] | list[str] = ()

    def has_permission(self, request: Request, view: Any) -> bool:
        auth = request.auth
        return isinstance(auth, AuthToken) and auth.client.name in self.allowed_clients_name


class DisallowSpecificClients(BasePermission):
    """Tokens of the clients named in ``disallowed_clients_name`` are refused."""

    disallowed_clients_name: tuple[str, ...] | list[str] = ()

    def has_permission(self, request: Request, view: Any) -> bool:
        auth = request.auth
        return isinstance(auth, AuthToken) and auth.client.name not in self.disallowed_clients_name
