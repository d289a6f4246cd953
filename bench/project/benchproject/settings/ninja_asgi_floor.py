"""django-ninja, sync operation under ASGI (a thread per request), no authentication: its floor."""

from .ninja import *

BENCH_NINJA = {"operation": "sync", "auth": False}
BENCH_INTERFACE = "asgi"
