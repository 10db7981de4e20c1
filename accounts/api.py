"""Plumbing shared by the backoffice REST API: who may act on what, and the error bodies.

Every `/api/backoffice/...` view states the roles it allows per method with `allow(...)`
(`accounts.roles`; a caller without one of them gets 403) and looks locations up with
`vendor_location_or_404`, so that another vendor's location is indistinguishable from a
missing one. `VendorPermission` is `allow(ADMIN)`: a vendor's staff only.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import ApiToken
from accounts.roles import ADMIN, CROSS_VENDOR_ROLES, ROLES, VENDOR_ROLES
from accounts.services import vendor_id_for
from locations.repository import Location, LocationRepository

LOCATION_NOT_FOUND = "Location not found."
NO_VENDOR = "Your user does not belong to a vendor; ask an administrator to add it to one."


def request_role(request: Request) -> str | None:
    """The role the caller acts in: its token's, or `admin` for a logged-in page user."""
    auth = request.auth
    if isinstance(auth, ApiToken):
        return auth.role if auth.role in ROLES else None
    user = request.user
    if user is not None and user.is_authenticated and auth is None:  # a session
        return ADMIN
    return None


class RolePermission(BasePermission):
    """Allows the roles listed for the request's method (`roles`; "*" for any other)."""

    roles: dict[str, tuple[str, ...]] = {}
    message = "Your credentials do not allow this."

    @classmethod
    def roles_for(cls, method: str) -> tuple[str, ...]:
        method = "GET" if method.upper() == "HEAD" else method.upper()
        return cls.roles.get(method, cls.roles.get("*", ()))

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False  # 401 (DRF answers NotAuthenticated when no credentials were given)
        role = request_role(request)
        allowed = self.roles_for(request.method or "GET")
        if role not in allowed:
            self.message = (
                f"This needs a token with the role {' or '.join(allowed)}; "
                f"yours has the role {role or 'none'}."
            )
            return False
        if role in VENDOR_ROLES and request_vendor_id(request) is None:
            self.message = NO_VENDOR
            return False
        return True


def allow(*roles: str, **per_method: tuple[str, ...]) -> type[RolePermission]:
    """A permission class for `roles`, with other roles for some methods (`post=(ADMIN,)`)."""
    table = {"*": tuple(roles), **{m.upper(): tuple(r) for m, r in per_method.items()}}
    unknown = {r for allowed in table.values() for r in allowed} - set(ROLES)
    if unknown:
        raise ValueError(f"Unknown roles: {sorted(unknown)}")
    name = "Allow_" + "_".join(f"{m}_{'_'.join(r)}" for m, r in table.items()).replace("*", "any")
    return type(name, (RolePermission,), {"roles": table})


VendorPermission = allow(ADMIN)


def request_vendor_id(request: Request) -> str | None:
    """The caller's vendor id, looked up once per request (None for service tokens)."""
    if not hasattr(request, "_vendor_id"):
        role = request_role(request)
        request._vendor_id = None if role in CROSS_VENDOR_ROLES else vendor_id_for(request.user)
    vendor_id: str | None = request._vendor_id
    return vendor_id


def sees_every_vendor(request: Request) -> bool:
    """Platform roles (support, payments) act on every vendor's data."""
    return request_role(request) in CROSS_VENDOR_ROLES


def vendor_location_or_404(request: Request, location_id: str) -> Location:
    if sees_every_vendor(request):
        location = LocationRepository().get(location_id)
    else:
        vendor_id = request_vendor_id(request)
        location = (
            LocationRepository().get_for_vendor(location_id, vendor_id) if vendor_id else None
        )
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
FORBIDDEN = OpenApiResponse(
    ApiErrorSerializer,
    description="The token's role is not one this operation allows, or the user belongs to no "
    "vendor.",
)
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
