"""Per-API-client token authentication for Django REST Framework."""

__version__ = "2.0.0.dev0"
