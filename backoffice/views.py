"""The backoffice pages: one page per POS provider, for one of the user's vendor's locations.

The views render the page's frame (top bar, location selector, empty sections and forms); the
page's script fills it from the backoffice REST API with the user's session, so the page only
ever holds what the API answers: masked credentials, never a secret.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from accounts.services import vendor_id_for
from backoffice.selection import LocationNotFound, select_location
from integrations.providers import PROVIDERS
from integrations.services import get_service
from locations.repository import Location, LocationRepository
from tables.services import imported_section_name

# Stands in for an id in the URL templates handed to the page's script.
ID = "__id__"

NO_VENDOR = "Your user does not belong to a vendor; ask an administrator to add it to one."


@login_required
def provider_page(request: HttpRequest, provider: str) -> HttpResponse:
    vendor_id = vendor_id_for(request.user)
    if vendor_id is None:
        raise PermissionDenied(NO_VENDOR)
    locations = LocationRepository().list_for_vendor(vendor_id)
    try:
        location = select_location(locations, request.GET.get("location"), request.session)
    except LocationNotFound:
        raise Http404("Location not found.") from None
    service = get_service(provider)
    context: dict[str, Any] = {
        "provider": provider,
        "display_name": service.display_name,
        "table_section_name": imported_section_name(service.table_section_prefix),
        "providers": [(name, get_service(name).display_name) for name in PROVIDERS],
        "locations": locations,
        "location": location,
        "config": page_config(provider, service.display_name, location) if location else None,
    }
    return render(request, "backoffice/provider.html", context)


def page_config(provider: str, display_name: str, location: Location) -> dict[str, Any]:
    """What the page's script needs: the location and the API URLs it calls."""
    kassanet = {"provider": provider, "location_id": location.id}
    sections = {"location_id": location.id, "section_id": ID}
    return {
        "provider": provider,
        "displayName": display_name,
        "location": {"id": location.id, "name": location.name, "timezone": location.timezone},
        "urls": {
            "integration": reverse("kassanet-integration", kwargs=kassanet),
            "test": reverse("kassanet-test", kwargs=kassanet),
            "sync": reverse("kassanet-sync-menu", kwargs=kassanet),
            "imports": reverse("kassanet-imports", kwargs=kassanet),
            "importRun": reverse("kassanet-import", kwargs={**kassanet, "run_id": ID}),
            "applyRun": reverse("kassanet-import-apply", kwargs={**kassanet, "run_id": ID}),
            "discardRun": reverse("kassanet-import-discard", kwargs={**kassanet, "run_id": ID}),
            "versions": reverse("kassanet-menu-versions", kwargs=kassanet),
            "restoreVersion": reverse(
                "kassanet-menu-version-restore", kwargs={**kassanet, "version_id": ID}
            ),
            "transactions": reverse("location-transactions", kwargs={"location_id": location.id}),
            "retry": reverse("transaction-retry-pos", kwargs={"transaction_id": ID}),
            "sections": reverse("table-sections", kwargs={"location_id": location.id}),
            "qrZip": reverse("table-section-qr-zip", kwargs=sections),
            "qrPdf": reverse("table-section-qr-pdf", kwargs=sections),
        },
    }


@login_required
def menu_items_page(request: HttpRequest) -> HttpResponse:
    """Menus > Items: search and filter the location's items, see availability, edit the
    description, upload an image, reorder within a display group (local edits; an admin
    page once roles exist)."""
    vendor_id = vendor_id_for(request.user)
    if vendor_id is None:
        raise PermissionDenied(NO_VENDOR)
    locations = LocationRepository().list_for_vendor(vendor_id)
    try:
        location = select_location(locations, request.GET.get("location"), request.session)
    except LocationNotFound:
        raise Http404("Location not found.") from None
    config = None
    if location is not None:
        scoped = {"location_id": location.id}
        config = {
            "location": {"id": location.id, "name": location.name, "currency": location.currency},
            "urls": {
                "items": reverse("location-items", kwargs=scoped),
                "categories": reverse("location-categories", kwargs=scoped),
                "displayGroups": reverse("location-display-groups", kwargs=scoped),
                "item": reverse("location-item", kwargs={**scoped, "item_id": ID}),
                "itemImage": reverse("location-item-image", kwargs={**scoped, "item_id": ID}),
                "displayGroup": reverse(
                    "location-display-group", kwargs={**scoped, "group_id": ID}
                ),
            },
        }
    context: dict[str, Any] = {
        "providers": [(name, get_service(name).display_name) for name in PROVIDERS],
        "locations": locations,
        "location": location,
        "config": config,
    }
    return render(request, "backoffice/menu_items.html", context)
