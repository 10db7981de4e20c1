from accounts.api import slash_optional
from incidents import views

urlpatterns = [
    *slash_optional("notification-channels", views.ChannelListView, "notification-channels"),
    *slash_optional(
        "notification-channels/<str:channel_id>", views.ChannelDetailView, "notification-channel"
    ),
    *slash_optional(
        "notification-channels/<str:channel_id>/test",
        views.ChannelTestView,
        "notification-channel-test",
    ),
    *slash_optional(
        "notification-channels/<str:channel_id>/deliveries",
        views.ChannelDeliveriesView,
        "notification-channel-deliveries",
    ),
    *slash_optional(
        "notification-deliveries/<str:delivery_id>/replay",
        views.DeliveryReplayView,
        "notification-delivery-replay",
    ),
    *slash_optional("incidents", views.IncidentListView, "incidents"),
    *slash_optional(
        "incidents/<str:incident_id>/resolve", views.IncidentResolveView, "incident-resolve"
    ),
    *slash_optional(
        "locations/<str:location_id>/readiness", views.ReadinessView, "location-readiness"
    ),
]
