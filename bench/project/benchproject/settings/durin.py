"""durin (this repository), its TokenAuthentication."""

import os

from .base import *

INSTALLED_APPS += ["durin"]
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = ["durin.auth.TokenAuthentication"]

# A read replica for the scale phase's replica states (worker.py ``replica``): a second
# database on the same server, or a second SQLite file. Nothing connects to it, nor routes
# reads to it, until that command.
DATABASES["replica"] = {
    **DATABASES["default"],
    "NAME": os.environ.get("BENCH_REPLICA_NAME", f"{DATABASES['default']['NAME']}_replica"),
}
