"""Helpers for tests/test_upgrade_from_1x.py: a django-rest-durin 1.1.0 side and an upgrade side."""
