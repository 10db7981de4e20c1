from accounts.api import slash_optional
from integrations.views import ConnectionTestView, IntegrationView
from menus.views import (
    ImportRunApplyView,
    ImportRunDiscardView,
    ImportRunsView,
    ImportRunView,
    MenuVersionRestoreView,
    MenuVersionsView,
    StockRefreshView,
    SyncMenuView,
)

ROUTE = "kassanet/<str:provider>/<str:location_id>"

urlpatterns = [
    *slash_optional(ROUTE, IntegrationView, "kassanet-integration"),
    *slash_optional(f"{ROUTE}/test", ConnectionTestView, "kassanet-test"),
    *slash_optional(f"{ROUTE}/sync-menu", SyncMenuView, "kassanet-sync-menu"),
    *slash_optional(f"{ROUTE}/imports", ImportRunsView, "kassanet-imports"),
    *slash_optional(f"{ROUTE}/imports/<str:run_id>", ImportRunView, "kassanet-import"),
    *slash_optional(
        f"{ROUTE}/imports/<str:run_id>/apply", ImportRunApplyView, "kassanet-import-apply"
    ),
    *slash_optional(
        f"{ROUTE}/imports/<str:run_id>/discard", ImportRunDiscardView, "kassanet-import-discard"
    ),
    *slash_optional(f"{ROUTE}/menu-versions", MenuVersionsView, "kassanet-menu-versions"),
    *slash_optional(f"{ROUTE}/refresh-stock", StockRefreshView, "kassanet-refresh-stock"),
    *slash_optional(
        f"{ROUTE}/menu-versions/<str:version_id>/restore",
        MenuVersionRestoreView,
        "kassanet-menu-version-restore",
    ),
]
