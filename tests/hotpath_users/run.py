"""Authenticates a ``Member`` through the database path and a cache hit, in a test database of
its own; run by tests/test_regressions_hotpath.py. Prints a JSON summary of what each path
handed to the view."""

import json
import sys
from typing import Any

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.exceptions import AuthenticationFailed  # noqa: E402

from durin.auth import CachedTokenAuthentication, TokenAuthentication  # noqa: E402
from durin.models import AuthToken, Client  # noqa: E402
from tests.hotpath_users.models import Member  # noqa: E402


def described(user: Any, token: AuthToken) -> dict[str, Any]:
    return {
        "pk": str(user.pk),
        "pk_type": type(user.pk).__name__,
        "username": user.get_username(),
        "is_active": user.is_active,
        "db": user._state.db,
        "token_user_id": str(token.user_id),
        "has_recent_actions": hasattr(user, "recent_actions"),
        "password_checks": user.check_password("pw"),
    }


def main() -> dict[str, Any]:
    member = Member.objects.create_user("Ann@Example.com", password="pw")
    issued = AuthToken.objects.create(member, Client.objects.create(name="web"))
    user, token = TokenAuthentication.authenticate_credentials(issued.token)
    result = {"member": str(member.pk), "database": described(user, token)}
    CachedTokenAuthentication.authenticate_credentials(issued.token)  # a miss: stores the entry
    with CaptureQueriesContext(connection) as queries:
        user, token = CachedTokenAuthentication.authenticate_credentials(issued.token)
        result["hit_queries"] = len(queries)
        result["hit_cached"] = getattr(token, "_durin_cached", False)
    result["hit"] = described(user, token)
    issued.delete()
    try:
        CachedTokenAuthentication.authenticate_credentials(issued.token)
        result["revoked_refused"] = False
    except AuthenticationFailed:
        result["revoked_refused"] = True
    return result


old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
try:
    summary = main()
finally:
    connection.creation.destroy_test_db(old_name, verbosity=0)
sys.stdout.write(json.dumps(summary) + "\n")
