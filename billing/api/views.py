from __future__ import annotations

from django.db import connection
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.usage import usage_summary


class UsageView(APIView):
    def get(self, request):
        return Response(usage_summary(connection.tenant))
