"""django-ninja, sync operation under ASGI, durin's ``TokenAuth(CachedTokenAuthentication)``."""

from .ninja import *

INSTALLED_APPS += ["durin"]
BENCH_NINJA = {"operation": "sync", "auth": True}
BENCH_INTERFACE = "asgi"
