from __future__ import annotations

from django.contrib.auth import get_user_model, password_validation
from rest_framework import serializers

from organizations.services import subdomain_problem


class SignupSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128)
    organization = serializers.CharField(max_length=100)
    subdomain = serializers.CharField(max_length=40)

    def validate_subdomain(self, value: str) -> str:
        value = value.strip().lower()
        problem = subdomain_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_organization(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("Give the organization a name.")
        return value

    def validate(self, attrs: dict) -> dict:
        # An unsaved user lets the similarity check compare with the email.
        candidate = get_user_model()(email=attrs["email"])
        password_validation.validate_password(attrs["password"], candidate)
        return attrs
