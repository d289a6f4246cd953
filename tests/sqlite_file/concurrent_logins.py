"""Concurrent logins on SQLite: run by tests/test_sqlite_concurrency.py in a subprocess.

Prints a JSON summary: status codes of simultaneous logins, and live tokens per user.
"""

import json
import sys
import threading

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from durin.models import AuthToken, Client  # noqa: E402

users, per_user = int(sys.argv[1]), int(sys.argv[2])
call_command("migrate", verbosity=0)
for i in range(users):
    get_user_model().objects.create_user(f"u{i}", password="pw")
Client.objects.create(name="web", session_limit=1)


def login(i: int) -> int:
    body = {"username": f"u{i % users}", "password": "pw", "client": "web"}
    return APIClient().post("/api/auth/login/", body, format="json").status_code


for i in range(users):  # each user holds a token: the next login must revoke it
    login(i)
connection.close()
barrier = threading.Barrier(users * per_user)
codes: list = [None] * (users * per_user)


def work(i: int) -> None:
    try:
        barrier.wait()
        codes[i] = login(i)
    except Exception as exc:
        codes[i] = repr(exc)[:80]
    finally:
        connection.close()


threads = [threading.Thread(target=work, args=(i,)) for i in range(len(codes))]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(timeout=60)
live = [AuthToken.objects.filter(user__username=f"u{i}").count() for i in range(users)]
print(json.dumps({"codes": codes, "live": live}))
