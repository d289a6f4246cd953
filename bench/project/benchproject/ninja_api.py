"""``GET /ninja/me/`` for the django-ninja contenders: a sync or an async operation.

The settings module says which (``BENCH_NINJA``): the operation's kind, and whether it is
behind durin's ``TokenAuth(CachedTokenAuthentication)`` or open to anyone (that kind's floor).
Both kinds answer what the DRF endpoint answers, ``{"user": <pk>}`` (``None`` without auth).
"""

from __future__ import annotations

from django.conf import settings
from ninja import NinjaAPI


def auth():
    """durin's ninja auth with the cached class, or none for a floor (which then imports no
    durin at all, as the DRF floor does not)."""
    if not settings.BENCH_NINJA["auth"]:
        return None
    from durin.auth import CachedTokenAuthentication
    from durin.contrib.ninja import TokenAuth

    return TokenAuth(CachedTokenAuthentication)


def user_pk(request) -> int | None:
    user = getattr(request, "user", None)  # no AuthenticationMiddleware: unset on a floor
    return user.pk if user is not None else None


api = NinjaAPI(auth=auth(), urls_namespace="bench-ninja", docs_url=None)
if settings.BENCH_NINJA["auth"]:
    from durin.contrib.ninja import handle_refusals

    handle_refusals(api)

if settings.BENCH_NINJA["operation"] == "async":

    @api.get("/me/")
    async def me(request):
        return {"user": user_pk(request)}

else:

    @api.get("/me/")
    def me(request):
        return {"user": user_pk(request)}
