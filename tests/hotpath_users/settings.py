"""The suite's settings (same database engine and cache) with ``hotpath_users.Member`` as the
user model, in a test database of its own."""

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.hotpath_users"]
AUTH_USER_MODEL = "hotpath_users.Member"
DATABASES = {"default": DATABASES["default"]}
if "TEST" in DATABASES["default"]:
    DATABASES["default"] = {
        **DATABASES["default"],
        "TEST": {"NAME": DATABASES["default"]["TEST"]["NAME"] + "_members"},
    }
