from __future__ import annotations

from django.urls import include, path

from durin.auth import CachedTokenAuthentication, TokenAuthentication

from .views import OrganisationView, SudoView, WhoAmIView

#: The prefix of each authentication class's views.
CLASSES = {"db": TokenAuthentication, "cached": CachedTokenAuthentication}

urlpatterns = [path("api/auth/", include("durin.urls"))]
for prefix, cls in CLASSES.items():
    urlpatterns += [
        path(f"{prefix}/whoami/", WhoAmIView.as_view(authentication_classes=[cls])),
        path(f"{prefix}/organisation/", OrganisationView.as_view(authentication_classes=[cls])),
        path(f"{prefix}/sudo/", SudoView.as_view(authentication_classes=[cls])),
    ]
