from __future__ import annotations

from importlib.util import find_spec

from django.apps import AppConfig


class DurinConfig(AppConfig):
    name = "durin"
    verbose_name = "Durin"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.contrib.auth.signals import user_logged_in
        from django.core import checks
        from django.core.signals import request_finished, setting_changed
        from django.db.models.signals import post_delete, post_save, pre_save

        from . import cache as token_cache
        from . import checks as durin_checks
        from . import login_throttle, lookup, receivers, reuse
        from .models import AuthToken, Client
        from .settings import reload_durin_settings

        setting_changed.connect(reload_durin_settings, dispatch_uid="durin.reload_settings")
        setting_changed.connect(
            token_cache.reset_namespaces, dispatch_uid="durin.reset_cache_namespaces"
        )
        setting_changed.connect(lookup.forget, dispatch_uid="durin.forget_compiled_lookups")
        request_finished.connect(reuse.revoke_pending, dispatch_uid="durin.revoke_reused_sessions")
        post_delete.connect(
            receivers.invalidate_deleted_token,
            sender=AuthToken,
            dispatch_uid="durin.invalidate_deleted_token",
        )
        post_save.connect(
            receivers.invalidate_saved_token,
            sender=AuthToken,
            dispatch_uid="durin.invalidate_saved_token",
        )
        post_save.connect(
            receivers.invalidate_client_tokens,
            sender=Client,
            dispatch_uid="durin.invalidate_client_tokens",
        )
        pre_save.connect(
            receivers.note_credential_change,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="durin.note_credential_change",
        )
        post_save.connect(
            receivers.revoke_or_invalidate_user_tokens,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="durin.revoke_or_invalidate_user_tokens",
        )
        checks.register(durin_checks.check_settings, checks.Tags.security)
        checks.register(
            durin_checks.check_deployment, checks.Tags.security, checks.Tags.caches, deploy=True
        )
        checks.register(durin_checks.check_api_access_client, checks.Tags.database)
        checks.register(durin_checks.check_token_lifetimes, checks.Tags.database)
        checks.register(
            durin_checks.check_login_throttle_cache, checks.Tags.security, checks.Tags.caches
        )
        user_logged_in.connect(
            login_throttle.refund_on_login, dispatch_uid="durin.login_throttle_refund"
        )
        if find_spec("drf_spectacular") is not None:
            # Defining the extensions registers them; durin never imports it otherwise.
            from .contrib import spectacular  # noqa: F401
