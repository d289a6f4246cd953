"""Integrations with optional third-party packages; each is imported only when its package is."""
