from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, password_validation

from organizations.services import subdomain_problem


class SignupForm(forms.Form):
    email = forms.EmailField(max_length=254)
    password = forms.CharField(widget=forms.PasswordInput, max_length=128)
    organization = forms.CharField(max_length=100, label="Organization name")
    subdomain = forms.CharField(max_length=40, help_text="Letters, digits and hyphens.")

    def clean_subdomain(self) -> str:
        value = self.cleaned_data["subdomain"].strip().lower()
        problem = subdomain_problem(value)
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean(self) -> dict:
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            candidate = get_user_model()(email=cleaned.get("email", ""))
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned
