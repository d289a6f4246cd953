"""The suite's settings on a SQLite *file*, which several threads can share."""

import os

from tests.settings import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["DURIN_SQLITE_FILE"],
    }
}
