"""Small protected endpoints the tests call through the full DRF stack."""

from __future__ import annotations

from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from durin.auth import CachedTokenAuthentication, TokenAuthentication
from durin.permissions import (
    AllowSpecificClients,
    DisallowSpecificClients,
    RecentlyAuthenticated,
)
from durin.throttling import UserClientRateThrottle


class WhoAmIView(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response(
            {"username": request.user.get_username(), "client": request.auth.client.name}
        )


class CachedWhoAmIView(WhoAmIView):
    authentication_classes = [CachedTokenAuthentication]


class OnlyWeb(AllowSpecificClients):
    allowed_clients_name = ("web",)


class NotCli(DisallowSpecificClients):
    disallowed_clients_name = ("cli",)


class WebOnlyView(WhoAmIView):
    permission_classes = [OnlyWeb]


class NotCliView(WhoAmIView):
    permission_classes = [NotCli]


class ThrottledView(WhoAmIView):
    throttle_classes = [UserClientRateThrottle]


class SudoView(WhoAmIView):
    """Needs a password proved within ``REAUTHENTICATION_MAX_AGE``."""

    permission_classes = [RecentlyAuthenticated]


class CachedSudoView(SudoView):
    authentication_classes = [CachedTokenAuthentication]


class ShortSudoView(SudoView):
    reauthentication_max_age = 60


class SessionSudoView(SudoView):
    """Reached with a Django session login, never a durin token."""

    authentication_classes = [SessionAuthentication]
