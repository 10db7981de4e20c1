from django.urls import path

from accounts.api import slash_optional
from incidents import support_views as views

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
    path("support", views.fleet_page, name="support"),
    path("support/locations/<str:location_id>", views.diagnosis_page, name="support-location"),
]
