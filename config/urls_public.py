"""URLs of the public site (BASE_DOMAIN)."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from config import health
from organizations import views as organization_views
from organizations.api.views import SignupView

urlpatterns = [
    path("", organization_views.home, name="home"),
    path("signup/", organization_views.signup, name="signup"),
    path("go/<slug:slug>/", organization_views.go_to_organization, name="go"),
    path("accounts/signup/", RedirectView.as_view(pattern_name="signup")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("health/", health.health),
    path("ready/", health.ready),
    path("metrics", health.metrics),
    path("api/v1/signup/", SignupView.as_view(), name="api-signup"),
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
]

handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
