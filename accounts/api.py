"""Plumbing shared by the backoffice REST API: who may act on what, and the error bodies.

Every `/api/backoffice/...` view uses `VendorPermission` (authenticated, and a member of a
vendor) and looks locations up with `vendor_location_or_404`, so that another vendor's
location is indistinguishable from a missing one.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.services import vendor_id_for
from locations.repository import Location, LocationRepository

LOCATION_NOT_FOUND = "Location not found."


class VendorPermission(IsAuthenticated):
    """An authenticated user who belongs to a vendor (answers 403 otherwise)."""

    message = "Your user does not belong to a vendor; ask an administrator to add it to one."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return super().has_permission(request, view) and request_vendor_id(request) is not None


def request_vendor_id(request: Request) -> str | None:
    """The caller's vendor id, looked up once per request."""
    if not hasattr(request, "_vendor_id"):
        request._vendor_id = vendor_id_for(request.user)
    vendor_id: str | None = request._vendor_id
    return vendor_id


def vendor_location_or_404(request: Request, location_id: str) -> Location:
    vendor_id = request_vendor_id(request)
    location = LocationRepository().get_for_vendor(location_id, vendor_id) if vendor_id else None
    if location is None:
        raise NotFound(LOCATION_NOT_FOUND)
    return location


class StrictSerializer(serializers.Serializer[Any]):
    """A request body serializer that refuses fields it does not know (400 naming them)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field; remove it."] for name in unknown}
                )
        return super().to_internal_value(data)


class ApiErrorSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()


_MESSAGES = {"type": "array", "items": {"type": "string"}}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Field name (or non_field_errors) -> what to fix. A nested field's errors "
    'nest the same way, list items by their index: `{"lines": {"2": {"quantity": [...]}}}`.',
    "additionalProperties": {
        "anyOf": [_MESSAGES, {"type": "object"}, {"type": "array", "items": {"type": "object"}}]
    },
}

VALIDATION_ERROR = OpenApiResponse(VALIDATION_ERROR_SCHEMA, description="Invalid input.")
NOT_AUTHENTICATED = OpenApiResponse(ApiErrorSerializer, description="No or invalid credentials.")
FORBIDDEN = OpenApiResponse(ApiErrorSerializer, description="The user belongs to no vendor.")
NOT_FOUND = OpenApiResponse(
    ApiErrorSerializer,
    description="The location is missing or belongs to another vendor (the same answer), "
    "or the provider or integration does not exist.",
)
AUTH_ERRORS = {401: NOT_AUTHENTICATED, 403: FORBIDDEN}


def slash_optional(route: str, view: type[APIView], name: str) -> list[URLPattern]:
    """`route` and `route/` to the same view; only the first is in the OpenAPI schema."""
    return [
        path(route, view.as_view(), name=name),
        path(f"{route}/", view.as_view(schema=None)),
    ]
