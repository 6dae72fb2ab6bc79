"""Public pages: home, sign-up, the organization switcher, and the hand-off."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from billing import ratelimit
from config.errors import ServiceError
from organizations.forms import SignupForm
from organizations.models import Organization
from organizations.services import handoff_url, redeem_handoff, sign_up

BACKEND = "django.contrib.auth.backends.ModelBackend"


def home(request: HttpRequest) -> HttpResponse:
    organizations = Organization.objects.for_member(request.user).order_by("name")
    return render(request, "organizations/home.html", {"organizations": organizations})


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        limit, window = ratelimit.parse_rate(settings.SIGNUP_RATE)
        wait = ratelimit.hit("signup", ratelimit.client_ip(request), limit, window)
        if wait is not None:
            minutes = wait // 60 + 1
            form.add_error(
                None,
                f"Too many sign-ups from this address. Try again in {minutes} min.",
            )
            context = {"form": form}
            return render(request, "organizations/signup.html", context, status=429)
    if request.method == "POST" and form.is_valid():
        try:
            user, organization, _ = sign_up(**form.cleaned_data)
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            login(request, user, backend=BACKEND)
            return redirect(handoff_url(user, organization))
    return render(request, "organizations/signup.html", {"form": form})


@login_required
def go_to_organization(request: HttpRequest, slug: str) -> HttpResponse:
    organization = (
        Organization.objects.for_member(request.user).filter(slug=slug).first()
    )
    if organization is None:
        raise Http404("No such organization.")
    return redirect(handoff_url(request.user, organization))


def handoff(request: HttpRequest, token: str) -> HttpResponse:
    """Exchange a one-time link from the public site for a workspace session."""
    try:
        user, next_path = redeem_handoff(token, connection.tenant)
    except ServiceError as error:
        return render(
            request,
            "organizations/handoff_failed.html",
            {"message": error.message},
            status=400,
        )
    login(request, user, backend=BACKEND)
    return redirect(next_path)
