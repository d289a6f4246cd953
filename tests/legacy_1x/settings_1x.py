"""Settings for the django-rest-durin 1.1.0 venv, which builds the database to upgrade.

Runs under 1.1.0's own interpreter, never under this repository's durin. The database
comes from the environment so the same file serves SQLite, PostgreSQL and MariaDB:
DURIN_UPGRADE_ENGINE=sqlite|postgres|mysql and DURIN_UPGRADE_NAME (a file path or a database name).
"""

import os

SECRET_KEY = "durin-1x-upgrade-not-secret"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "durin",
]

if os.environ["DURIN_UPGRADE_ENGINE"] == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "NAME": os.environ["DURIN_UPGRADE_NAME"],
        }
    }
elif os.environ["DURIN_UPGRADE_ENGINE"] == "mysql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "HOST": "127.0.0.1",
            "PORT": "3306",
            "USER": "root",
            "NAME": os.environ["DURIN_UPGRADE_NAME"],
            "OPTIONS": {"charset": "utf8mb4"},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ["DURIN_UPGRADE_NAME"],
        }
    }
