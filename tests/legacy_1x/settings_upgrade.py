"""The test suite's settings, pointed at the database that django-rest-durin 1.1.0 built.

``fresh`` is only for ``create_test_db()``: a database built by our migrations alone,
whose schema the upgraded one must match.
"""

# isort: off
from tests.settings import *  # noqa: F403
from tests.legacy_1x.settings_1x import DATABASES  # noqa: E402  (must override the line above)

# isort: on

DATABASES["fresh"] = {
    **DATABASES["default"],
    "TEST": {"NAME": f"{DATABASES['default']['NAME']}_fresh"}
    if not DATABASES["default"]["ENGINE"].endswith("sqlite3")
    else {},
}
