"""The WSGI entry point gunicorn serves (and the in-process bench calls directly)."""

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
