"""The test suite's settings, pointed at the database that django-rest-durin 1.1.0 built.

``fresh`` is only for ``create_test_db()``: a database built by our migrations alone,
whose schema the upgraded one must match.
"""

from tests.legacy_1x.settings_1x import DATABASES  # noqa: E402
from tests.settings import *  # noqa: F403

DATABASES["fresh"] = {
    **DATABASES["default"],
    "TEST": {"NAME": f"{DATABASES['default']['NAME']}_fresh"}
    if DATABASES["default"]["ENGINE"].endswith("postgresql")
    else {},
}
