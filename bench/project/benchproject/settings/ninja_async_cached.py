"""django-ninja, async operation under ASGI, durin's ``TokenAuth(CachedTokenAuthentication)``:
a cache hit answered on the event loop."""

from .ninja import *

INSTALLED_APPS += ["durin"]
BENCH_NINJA = {"operation": "async", "auth": True}
BENCH_INTERFACE = "asgi"
