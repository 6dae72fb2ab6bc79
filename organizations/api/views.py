from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from organizations.api.serializers import SignupSerializer
from organizations.services import sign_up


class SignupView(APIView):
    """Create a user, an organization and the owner's first API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_scope = "signup"

    def post(self, request):
        serializer = SignupSerializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"password": error.messages}) from None

        user, organization, key = sign_up(**serializer.validated_data)

        body = {
            "organization": {"slug": organization.slug, "url": organization.url},
            "user": {"email": user.email},
            "token": key,
        }
        return Response(body, status=status.HTTP_201_CREATED)
