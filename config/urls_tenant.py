"""URLs of an organization's workspace (<slug>.BASE_DOMAIN)."""

from django.urls import include, path

from accounts.api.views import TokenView
from billing.api.views import UsageView
from config import health
from documents import views as document_views
from organizations import views as organization_views

api = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("usage/", UsageView.as_view(), name="api-usage"),
    path("", include("documents.api.urls")),
    path("", include("assistant.api.urls")),
]

urlpatterns = [
    path("", document_views.workspace, name="workspace"),
    path("documents/<int:document_id>/", document_views.viewer, name="viewer"),
    path("handoff/<str:token>/", organization_views.handoff, name="handoff"),
    path("accounts/", include("allauth.urls")),
    path("health/", health.health),
    path("api/v1/", include(api)),
]

handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
