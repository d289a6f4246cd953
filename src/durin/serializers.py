"""DRF serializers for durin's views and the ``create_client`` command."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from .models import AuthToken, Client

User = get_user_model()


class UserSerializer(serializers.ModelSerializer):
    """The user in a login response, when ``USER_SERIALIZER`` names it."""

    class Meta:
        model = User
        fields = (User.USERNAME_FIELD,)


class TokenSessionsSerializer(serializers.ModelSerializer):
    """One of your live sessions (its token is never shown)."""

    client = serializers.SlugRelatedField(slug_field="name", read_only=True)
    expires_in_str = serializers.CharField(source="expires_in", read_only=True)
    is_current = serializers.SerializerMethodField()

    class Meta:
        model = AuthToken
        fields = [
            "id",
            "client",
            "created",
            "expiry",
            "has_expired",
            "is_current",
            "expires_in_str",
            "last_used",
            "ip_address",
            "user_agent",
            "authenticated_at",
        ]
        read_only_fields = fields

    def get_is_current(self, obj: AuthToken) -> bool:
        auth = getattr(self.context.get("request"), "auth", None)
        return isinstance(auth, AuthToken) and obj.pk == auth.pk


class APIAccessTokenSerializer(serializers.ModelSerializer):
    """Your API key; `token` appears only in the response that issued it."""

    client = serializers.SlugRelatedField(slug_field="name", read_only=True)
    expires_in_str = serializers.CharField(source="expires_in", read_only=True)
    token = serializers.CharField(read_only=True)

    class Meta:
        model = AuthToken
        fields = ["client", "created", "expiry", "has_expired", "expires_in_str", "token"]
        read_only_fields = fields

    def to_representation(self, instance: AuthToken) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not instance.token:
            data.pop("token")
        return data


class ClientSerializer(serializers.ModelSerializer):
    """Validates a new client (used by ``create_client``)."""

    class Meta:
        model = Client
        fields = [
            "name",
            "token_ttl",
            "throttle_rate",
            "session_limit",
            "session_limit_action",
            "auto_refresh",
            "rotate_on_refresh",
            "max_token_lifetime",
        ]
