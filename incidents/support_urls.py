"""URL patterns of the pages (support view, notifications) and of the support API."""

from django.urls import path

from accounts.api import slash_optional
from incidents import support_views as views
from incidents.pages import notifications_page

api_urlpatterns = [
    *slash_optional("locations", views.FleetView, "support-locations"),
    *slash_optional("locations/<str:location_id>", views.DiagnosisView, "support-location"),
    *slash_optional(
        "locations/<str:location_id>/connection-test/<str:provider>",
        views.SupportConnectionTestView,
        "support-connection-test",
    ),
]
page_urlpatterns = [
    path("notifications", notifications_page, name="notifications"),
    path("support", views.fleet_page, name="support"),
    path("support/locations/<str:location_id>", views.diagnosis_page, name="support-location"),
]
