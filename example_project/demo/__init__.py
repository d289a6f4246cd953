"""The demo's own app: it only carries the ``seed_demo`` command."""
