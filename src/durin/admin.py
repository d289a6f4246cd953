"""Admin for clients and tokens. A token's plaintext is shown once, on the page after "Save"."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from . import services
from .models import AuthToken, Client


class _SafeChoiceField(forms.ModelChoiceField):
    """An id too large for the database is an invalid choice, not a 500 (SQLite, Django 4.2)."""

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except OverflowError:
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            ) from None


class _SafeRawIdWidget(ForeignKeyRawIdWidget):
    """Shows the form again for such an id, instead of failing to look up its label."""

    def label_and_url_for_value(self, value: Any) -> tuple[str, str]:
        try:
            return super().label_and_url_for_value(value)
        except OverflowError:
            return "", ""


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "token_ttl",
        "throttle_rate",
        "session_limit",
        "session_limit_action",
        "auto_refresh",
        "max_token_lifetime",
    )
    search_fields = ("name",)


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    """Tokens are issued here through the same service as a login, and never edited."""

    list_display = ("id", "client", "user", "created", "expiry", "last_used", "ip_address")
    list_filter = ("client",)
    list_select_related = ("client", "user")
    raw_id_fields = ("user",)
    readonly_fields = ("created", "expiry", "last_used", "ip_address", "user_agent")
    add_fields = ("user", "client")

    def get_fields(self, request: HttpRequest, obj: AuthToken | None = None) -> Any:
        if obj is None:
            return self.add_fields
        return ("user", "client", *self.readonly_fields)

    def get_readonly_fields(self, request: HttpRequest, obj: AuthToken | None = None) -> Any:
        if obj is None:
            return ()
        return ("user", "client", *self.readonly_fields)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs.setdefault("form_class", _SafeChoiceField)
        if db_field.name in self.raw_id_fields:
            kwargs.setdefault(
                "widget",
                _SafeRawIdWidget(db_field.remote_field, self.admin_site, using=kwargs.get("using")),
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: AuthToken | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: AuthToken, form: Any, change: bool) -> None:
        # No request: the admin's address and browser are not the user's session metadata.
        issued = services.issue_token(obj.user, obj.client)
        for field in AuthToken._meta.concrete_fields:
            setattr(obj, field.attname, getattr(issued, field.attname))
        obj._state.adding = False
        # Not ``obj.token``: str(obj) goes into the admin log, which must not hold it.
        obj._issued_plaintext = issued.token  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: AuthToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "token": obj,
            "plaintext": obj._issued_plaintext,  # type: ignore[attr-defined]
            "title": "Token issued",
        }
        return TemplateResponse(request, "admin/durin/authtoken/issued.html", context)

    def delete_model(self, request: HttpRequest, obj: AuthToken) -> None:
        services.revoke_token(obj, "admin", request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AuthToken]) -> None:
        services.revoke_tokens(queryset, "admin", request=request)
