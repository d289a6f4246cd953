"""durin's TokenAuthentication on PostgreSQL with psycopg 3's server-side binding and
prepared statements.

Django binds parameters on the client by default (psycopg's ``ClientCursor``, which
never prepares) and sets ``prepare_threshold`` to None so that poolers in transaction
mode keep working; this turns both on. psycopg then prepares a query on a connection
once it has run there ``prepare_threshold`` times; ``worker.py``'s ``pginfo`` checks
``pg_prepared_statements``. Only meaningful on PostgreSQL (run.py pairs it with it).
"""

from .durin import *

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
