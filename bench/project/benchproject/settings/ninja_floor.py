"""django-ninja, sync operation, no authentication: the floor of the sync operation under WSGI."""

from .ninja import *

BENCH_NINJA = {"operation": "sync", "auth": False}
