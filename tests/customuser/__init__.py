"""A project unlike the suite's, run under ``tests/custom_settings.py`` by
``tests/test_custom_user.py``: see that module."""
