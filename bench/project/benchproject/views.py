"""The one endpoint every contender serves: who am I, as a tiny JSON body."""

from rest_framework.response import Response
from rest_framework.views import APIView


class Me(APIView):
    def get(self, request):
        user = request.user
        return Response({"user": user.pk if user.is_authenticated else None})
