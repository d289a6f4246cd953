"""django-ninja, sync operation, durin's ``TokenAuth(CachedTokenAuthentication)``, under WSGI."""

from .ninja import *

INSTALLED_APPS += ["durin"]
BENCH_NINJA = {"operation": "sync", "auth": True}
