"""Small protected endpoints the tests call through the full DRF stack."""

from __future__ import annotations

from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from durin.auth import CachedTokenAuthentication, TokenAuthentication
from durin.permissions import (
    AllowSpecificClients,
    DisallowSpecificClients,
    RecentlyAuthenticated,
    TokenHasScope,
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


class ReadOrdersView(WhoAmIView):
    """Needs the scope ``orders:read`` (an unrestricted token passes)."""

    permission_classes = [TokenHasScope]
    required_scopes = ["orders:read"]


class CachedReadOrdersView(ReadOrdersView):
    authentication_classes = [CachedTokenAuthentication]


class EditOrdersView(ReadOrdersView):
    """Needs both scopes."""

    required_scopes = ["orders:read", "orders:write"]


class CanReadOrders(TokenHasScope):
    required_scopes = ["orders:read"]


class CanRefund(TokenHasScope):
    required_scopes = ["refunds"]


class ReadOrRefundView(WhoAmIView):
    """Either scope will do."""

    permission_classes = [CanReadOrders | CanRefund]


class RefundOrStaffView(WhoAmIView):
    permission_classes = [CanRefund | IsAdminUser]


class StaffOrRefundView(WhoAmIView):
    permission_classes = [IsAdminUser | CanRefund]


class RefundOrSudoView(WhoAmIView):
    permission_classes = [CanRefund | RecentlyAuthenticated]


class NoScopesNamedView(WhoAmIView):
    """A mistake: ``TokenHasScope`` without ``required_scopes``."""

    permission_classes = [TokenHasScope]


class SessionReadOrdersView(ReadOrdersView):
    """Reached with a Django session login, never a durin token."""

    authentication_classes = [SessionAuthentication]
