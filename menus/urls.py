from accounts.api import slash_optional
from menus.views import (
    CategoriesView,
    DisplayGroupEditView,
    DisplayGroupsView,
    InventoryView,
    ItemEditView,
    ItemImageView,
    ItemsView,
    MenusView,
)

ROUTE = "locations/<str:location_id>"

urlpatterns = [
    *slash_optional(f"{ROUTE}/categories", CategoriesView, "location-categories"),
    *slash_optional(f"{ROUTE}/items", ItemsView, "location-items"),
    *slash_optional(f"{ROUTE}/items/<str:item_id>", ItemEditView, "location-item"),
    *slash_optional(f"{ROUTE}/items/<str:item_id>/image", ItemImageView, "location-item-image"),
    *slash_optional(f"{ROUTE}/display-groups", DisplayGroupsView, "location-display-groups"),
    *slash_optional(
        f"{ROUTE}/display-groups/<str:group_id>", DisplayGroupEditView, "location-display-group"
    ),
    *slash_optional(f"{ROUTE}/menus", MenusView, "location-menus"),
    *slash_optional(f"{ROUTE}/inventory", InventoryView, "location-inventory"),
]
