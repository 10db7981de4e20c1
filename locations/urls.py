from accounts.api import slash_optional
from locations.views import LocationDetailView, LocationListView

urlpatterns = [
    *slash_optional("locations", LocationListView, "locations"),
    *slash_optional("locations/<str:location_id>", LocationDetailView, "location-detail"),
]
