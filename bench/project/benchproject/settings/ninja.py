"""What the django-ninja contenders share: their URLs, served at ``BENCH_PATH``.

``BENCH_INTERFACE`` says how the worker calls the project and which server serves it over
HTTP: ``wsgi`` (the WSGI application in process, gunicorn) or ``asgi`` (Django's ASGI handler
driven by an event loop in process, uvicorn).
"""

from .base import *

ROOT_URLCONF = "benchproject.ninja_urls"
ASGI_APPLICATION = "benchproject.asgi.application"
BENCH_PATH = "/ninja/me/"
BENCH_INTERFACE = "wsgi"
