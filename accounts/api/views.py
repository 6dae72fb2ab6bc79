from __future__ import annotations

from django.contrib.auth import authenticate
from django.db import connection
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import TokenAuthentication
from accounts.models import ApiToken
from organizations.models import Membership


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(max_length=128)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)


class TokenView(APIView):
    """Exchange a member's email and password for a new API token."""

    # Token authentication only serves DELETE, which revokes the token that
    # signed the request; POST needs no credentials but email and password.
    authentication_classes = [TokenAuthentication]
    permission_classes = [AllowAny]
    throttle_scope = "login"

    def get_authenticate_header(self, request) -> str:
        # No authentication classes here, so DRF would turn a failed
        # sign-in into 403; a wrong password is a 401.
        return "Token"

    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        user = authenticate(
            request, email=data["email"].lower(), password=data["password"]
        )
        organization = connection.tenant
        # The same answer for a wrong password and for a non-member, so the
        # endpoint does not reveal who belongs to the organization.
        if user is None or not Membership.objects.of(user, organization).exists():
            raise AuthenticationFailed(
                "Invalid email or password for this organization."
            )

        _, key = ApiToken.issue(user, organization, name=data.get("name", ""))
        return Response({"token": key})

    def delete(self, request):
        """Revoke the token this request was signed with."""
        if not isinstance(request.auth, ApiToken):
            raise NotAuthenticated(
                "Send the token to revoke as 'Authorization: Token <key>'."
            )
        request.auth.revoke()
        return Response(status=status.HTTP_204_NO_CONTENT)
