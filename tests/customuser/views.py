"""What a view of the project reads from ``request.user`` and ``request.auth``."""

from __future__ import annotations

from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from durin.permissions import RecentlyAuthenticated


class WhoAmIView(APIView):
    """Only what authentication hands the view: a cache hit answers it with no query."""

    permission_classes = [IsAuthenticated]

    def get(self, request):
        user, token = request.user, request.auth
        return Response(
            {
                "pk": str(user.pk),
                "email": user.email,
                "email_at_init": getattr(user, "email_at_init", None),
                "client": token.client.name,
                "created": token.created.isoformat(),
                "expiry": token.expiry.isoformat(),
                "databases": [token._state.db, user._state.db, token.client._state.db],
            }
        )


class OrganisationView(APIView):
    """The user's organisation, which ``AUTHTOKEN_SELECT_RELATED_LIST`` joins."""

    permission_classes = [IsAuthenticated]

    def get(self, request):
        organisation = request.user.organisation
        return Response({"name": organisation.name, "database": organisation._state.db})


class SudoView(APIView):
    """Needs a password proved within ``REAUTHENTICATION_MAX_AGE``."""

    permission_classes = [RecentlyAuthenticated]

    def get(self, request):
        return Response({"authenticated_at": request.auth.authenticated_at.isoformat()})
