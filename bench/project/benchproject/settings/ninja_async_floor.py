"""django-ninja, async operation under ASGI, no authentication: the floor of the async operation."""

from .ninja import *

BENCH_NINJA = {"operation": "async", "auth": False}
BENCH_INTERFACE = "asgi"
