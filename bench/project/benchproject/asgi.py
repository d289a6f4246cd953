"""The ASGI entry point uvicorn serves (and the in-process bench drives with a scope)."""

from __future__ import annotations

from django.core.asgi import get_asgi_application

application = get_asgi_application()
