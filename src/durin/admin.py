"""Admin for clients and tokens. A token's plaintext is shown once, on the page after "Save".

Issuing a token for someone else is impersonating them, so only a superuser may;
other staff can issue tokens for themselves only. Users are picked by username.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_permission_codename, get_user_model
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import reporting, services
from .constants import INTROSPECT_SCOPE
from .models import AuthToken, Client
from .settings import durin_settings
from .signals import token_revoked

ONLY_SUPERUSERS = _("Only a superuser can issue a token for another user.")
NO_SUCH_USERNAME = _("No user with that username.")
INTROSPECT_DESCRIPTION = _("ask whether other tokens are active (introspect/)")


class _SafeChoiceField(forms.ModelChoiceField):
    """A value the database cannot compare is an invalid choice, not a 500.

    An id too large for the column (SQLite, Django 4.2), or a NUL character, which
    PostgreSQL refuses in a username.
    """

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        try:
            return super().to_python(value)
        except OverflowError:
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            ) from None


class _SafeAutocompleteSelect(AutocompleteSelect):
    """Shows the form again for a posted id the database cannot compare, instead of a 500."""

    def optgroups(self, name: str, value: Any, attr: Any = None) -> Any:
        try:
            return super().optgroups(name, value, attr)
        except (ValueError, TypeError, OverflowError):
            return super().optgroups(name, [], attr)


def _scope_choices() -> list[tuple[str, str]]:
    """The scopes a token may carry, read when the form is shown or checked (settings may
    change under ``override_settings``)."""
    descriptions = {**durin_settings.SCOPES, INTROSPECT_SCOPE: INTROSPECT_DESCRIPTION}
    return [
        (name, f"{name}: {descriptions[name]}" if descriptions.get(name) else name)
        for name in sorted(services.known_scopes())
    ]


class _IssueForm(forms.ModelForm):
    """Refuses, on the form, a client that cannot issue tokens (``token_ttl`` of zero), and
    scopes the project does not declare."""

    # Not the model field (it is not editable): the names come from the SCOPES setting.
    scopes = forms.MultipleChoiceField(
        choices=_scope_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Tick none for an unrestricted token (as a login's); otherwise the token may do "
            "only what these scopes allow."
        ),
    )

    def clean_scopes(self) -> list[str] | None:
        chosen = sorted(set(self.cleaned_data.get("scopes") or ()))
        if not chosen:
            return None
        try:
            return services.checked_scopes(chosen)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid_scopes") from None

    def clean_client(self) -> Client:
        client = self.cleaned_data["client"]
        try:
            services.token_lifetime(client)
        except services.UnusableClient as exc:
            raise ValidationError(str(exc), code="unusable_client") from None
        return client


def scope_text(scopes: Any) -> str:
    """How the admin shows a token's scopes."""
    if scopes is None:
        return str(_("unrestricted"))
    if not scopes:
        return str(_("none (it passes no scope check)"))
    return ", ".join(map(str, scopes))


def _is_superuser(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False))


@contextmanager
def _session_limit_revocations() -> Iterator[list[int]]:
    """The ids of the tokens this thread revokes for the session limit inside the block."""
    revoked: list[int] = []
    thread = threading.get_ident()

    def collect(*, reason: str, token_id: int, **kwargs: Any) -> None:
        if reason == "session_limit" and threading.get_ident() == thread:
            revoked.append(token_id)

    token_revoked.connect(collect, weak=False)
    try:
        yield revoked
    finally:
        token_revoked.disconnect(collect)


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
        "rotate_on_refresh",
        "max_token_lifetime",
    )
    search_fields = ("name",)


class ExpiredFilter(admin.SimpleListFilter):
    """Live tokens (they still authenticate) or expired ones (waiting for the purge)."""

    title = _("expired")
    parameter_name = "expired"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("no", _("Live")), ("yes", _("Expired"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuthToken]) -> Any:
        if self.value() == "no":
            return queryset.live()  # type: ignore[attr-defined]
        if self.value() == "yes":
            return queryset.expired()  # type: ignore[attr-defined]
        return queryset


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    """Tokens are issued here through the same service as a login, and never edited."""

    form = _IssueForm
    list_display = (
        "id",
        "client",
        "user",
        "name",
        "hint",
        "created",
        "expiry",
        "expired",
        "last_used",
        "authenticated_at",
        "scope_list",
        "ip_address",
    )
    list_filter = (ExpiredFilter, "client")
    list_select_related = ("client", "user")
    # Never the digest; a rotated session's earlier digests (SupersededToken) are not
    # registered at all: nothing in them is for reading, and deleting the token takes them.
    readonly_fields = (
        "name",
        "hint",
        "scope_list",
        "rolled_at",
        "created",
        "expiry",
        "last_used",
        "authenticated_at",
        "ip_address",
        "user_agent",
    )
    add_fields = ("user", "client", "scopes")

    @admin.display(boolean=True, description=_("expired"), ordering="expiry")
    def expired(self, obj: AuthToken) -> bool:
        return obj.has_expired

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: AuthToken) -> str:
        return scope_text(obj.scopes)

    def get_exclude(self, request: HttpRequest, obj: AuthToken | None = None) -> Any:
        # The form's own ``scopes`` field stands for the model's, which is not editable
        # (a ModelForm refuses to list it).
        return ("scopes",)

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        """The user's ``USERNAME_FIELD`` (the list shows it anyway) and, when the user model has
        one and the staff member may view users, its email field: a search answers whether an
        address starts with what was typed."""
        user_model = get_user_model()
        names = [user_model.USERNAME_FIELD]
        email = getattr(user_model, "get_email_field_name", lambda: None)()
        opts = user_model._meta
        may_view_users = any(
            request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
            for action in ("view", "change")
        )
        try:
            if email and email not in names and may_view_users:
                user_model._meta.get_field(email)
                names.append(email)
        except FieldDoesNotExist:
            pass
        return [f"user__{name}" for name in names]

    def get_fields(self, request: HttpRequest, obj: AuthToken | None = None) -> Any:
        if obj is None:
            return self.add_fields
        return ("user", "client", *self.readonly_fields)

    def get_readonly_fields(self, request: HttpRequest, obj: AuthToken | None = None) -> Any:
        if obj is None:
            return ()
        return ("user", "client", *self.readonly_fields)

    def user_search_available(self) -> bool:
        """Whether the user model's admin is registered here with ``search_fields``.

        Django's autocomplete needs both; a project may register its user model
        differently, or not at all.
        """
        user_admin = self.admin_site._registry.get(get_user_model())
        return user_admin is not None and bool(user_admin.search_fields)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs.setdefault("form_class", _SafeChoiceField)
        if db_field.name == "user":
            kwargs.update(self.user_field_options(db_field, request, kwargs.get("using")))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def user_field_options(self, db_field: Any, request: HttpRequest, using: Any) -> dict[str, Any]:
        """Staff pick themselves; a superuser searches users by username, or types one."""
        users = get_user_model()._default_manager
        if not _is_superuser(request.user):
            return {
                "queryset": users.filter(pk=request.user.pk),
                "empty_label": None,
                "widget": forms.Select,
                "error_messages": {"invalid_choice": ONLY_SUPERUSERS},
            }
        if self.user_search_available():
            return {"widget": _SafeAutocompleteSelect(db_field, self.admin_site, using=using)}
        return {
            "to_field_name": get_user_model().USERNAME_FIELD,
            "widget": forms.TextInput,
            "error_messages": {"invalid_choice": NO_SUCH_USERNAME},
        }

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuthToken]:
        """Read on the primary, as every read that revokes: a token issued a moment ago can
        be deleted at once, and one just revoked is no longer listed."""
        return super().get_queryset(request).on_primary()  # type: ignore[attr-defined]

    def has_change_permission(self, request: HttpRequest, obj: AuthToken | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: AuthToken, form: Any, change: bool) -> None:
        if obj.user.pk != request.user.pk and not _is_superuser(request.user):
            raise PermissionDenied(ONLY_SUPERUSERS)  # the form refuses it first
        live = AuthToken.objects.on_primary().live(timezone.now())
        sessions = {token.pk: token for token in live.filter(user=obj.user, client=obj.client)}
        with _session_limit_revocations() as revoked:
            # No request: the admin's address and browser are not the user's session metadata.
            issued = services.issue_token(
                obj.user, obj.client, scopes=form.cleaned_data.get("scopes")
            )
        # A session issued since the list was read is known by its id alone.
        obj._revoked_sessions = [  # type: ignore[attr-defined]
            sessions.get(pk) or AuthToken(pk=pk) for pk in revoked
        ]
        for field in AuthToken._meta.concrete_fields:
            setattr(obj, field.attname, getattr(issued, field.attname))
        obj._state.adding = False
        # Not ``obj.token``: str(obj) goes into the admin log, which must not hold it.
        obj._issued_plaintext = issued.token  # type: ignore[attr-defined]
        reporting.hide(request, issued.token)  # kept out of an error report on this page

    def response_add(
        self, request: HttpRequest, obj: AuthToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        """The plaintext, once; then what the button that was pressed asked for, as links
        (a redirect would lose the plaintext): issue another, view this token, or the list."""
        preserved = {"preserved_filters": self.get_preserved_filters(request), "opts": self.opts}

        def url(name: str, *args: Any) -> str:
            return add_preserved_filters(preserved, reverse(f"admin:{name}", args=args))

        info = f"{self.opts.app_label}_{self.opts.model_name}"
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "token": obj,
            "plaintext": obj._issued_plaintext,  # type: ignore[attr-defined]
            "scopes": scope_text(obj.scopes),
            "revoked_sessions": obj._revoked_sessions,  # type: ignore[attr-defined]
            "title": _("Token issued"),
            "add_another": "_addanother" in request.POST,
            "continue_editing": "_continue" in request.POST,
            "add_url": url(f"{info}_add"),
            "change_url": url(f"{info}_change", obj.pk),
            "changelist_url": url(f"{info}_changelist"),
        }
        return TemplateResponse(request, "admin/durin/authtoken/issued.html", context)

    def delete_model(self, request: HttpRequest, obj: AuthToken) -> None:
        services.revoke_token(obj, "admin", request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AuthToken]) -> None:
        services.revoke_tokens(queryset, "admin", request=request)
