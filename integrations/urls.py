from accounts.api import slash_optional
from integrations.views import ConnectionTestView, IntegrationView

ROUTE = "kassanet/<str:provider>/<str:location_id>"

urlpatterns = [
    *slash_optional(ROUTE, IntegrationView, "kassanet-integration"),
    *slash_optional(f"{ROUTE}/test", ConnectionTestView, "kassanet-test"),
    # POST {ROUTE}/sync-menu is the menu import's: add its one line here, e.g.
    # *slash_optional(f"{ROUTE}/sync-menu", SyncMenuView, "kassanet-sync-menu"),
]
