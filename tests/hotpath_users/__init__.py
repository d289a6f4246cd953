"""A custom user model (UUID primary key, email as USERNAME_FIELD, a mixin after the model
base) for tests/test_regressions_hotpath.py, which runs it in a subprocess."""
