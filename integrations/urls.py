from accounts.api import slash_optional
from integrations.views import ConnectionTestView, IntegrationView
from menus.views import SyncMenuView

ROUTE = "kassanet/<str:provider>/<str:location_id>"

urlpatterns = [
    *slash_optional(ROUTE, IntegrationView, "kassanet-integration"),
    *slash_optional(f"{ROUTE}/test", ConnectionTestView, "kassanet-test"),
    *slash_optional(f"{ROUTE}/sync-menu", SyncMenuView, "kassanet-sync-menu"),
]
