"""durin's TokenAuthentication on PostgreSQL through Django's connection pool (psycopg_pool).

Django refuses a pool with persistent connections, so ``CONN_MAX_AGE`` is 0: each
request takes a connection from the process's pool at its first query and gives it
back when it ends. The pool's defaults: 4 connections per process, opened up front.
Only meaningful on PostgreSQL (run.py pairs it with it).
"""

from .durin import *

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {"pool": True}
