"""The support view: `/support` pages and `/api/support/...` (every location of every vendor).

For a `support` token, or a Django staff member's page session (`SupportPermission`); any
other token or a vendor's user gets 403. Nothing shown is a secret (see incidents/support.py).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import (
    AUTH_ERRORS,
    VALIDATION_ERROR,
    ApiErrorSerializer,
    RolePermission,
    StrictSerializer,
)
from accounts.models import ApiToken
from accounts.roles import SUPPORT
from incidents import support
from integrations.providers import PROVIDERS
from integrations.repository import IntegrationRepository
from integrations.services import get_service

SUPPORT_ONLY = "Only support staff may see the whole fleet."
TAGS = ["support"]
MISSING = OpenApiResponse(ApiErrorSerializer, description="No such location.")


def is_support(user: Any) -> bool:
    """A platform staff member logged in to the pages (Django staff) acts as `support`."""
    return bool(user and user.is_authenticated and user.is_staff)


class SupportPermission(RolePermission):
    """A `support` token, or a Django staff member's page session (the /support pages)."""

    roles = {"*": (SUPPORT,)}
    message = SUPPORT_ONLY

    def has_permission(self, request: Request, view: APIView) -> bool:
        if isinstance(request.auth, ApiToken) or not request.user.is_authenticated:
            allowed = super().has_permission(request, view)
            if not allowed and request.user.is_authenticated:
                self.message = SUPPORT_ONLY
            return allowed
        if is_support(request.user):
            return True
        self.message = SUPPORT_ONLY
        return False


class FleetQuerySerializer(StrictSerializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)
    provider = serializers.ChoiceField(choices=PROVIDERS, required=False)
    connection = serializers.ChoiceField(choices=["connected", "disconnected"], required=False)
    trouble = serializers.BooleanField(required=False, default=False)
    sort = serializers.ChoiceField(choices=support.SORTS, required=False, default="trouble")


def _fleet_query(params: dict[str, Any]) -> support.FleetQuery:
    form = FleetQuerySerializer(data={k: v for k, v in params.items() if v != ""})
    form.is_valid(raise_exception=True)
    data = form.validated_data
    return support.FleetQuery(
        q=data.get("q", ""),
        provider=data.get("provider"),
        connection=data.get("connection"),
        trouble_only=data["trouble"],
        sort=data["sort"],
    )


class FleetView(APIView):
    """For the `support` role (a support token, or a Django staff member's session)."""

    permission_classes = [SupportPermission]

    @extend_schema(
        operation_id="support_locations_list",
        summary="Every location of every vendor, the most troubled first",
        parameters=[FleetQuerySerializer],
        responses={200: OpenApiResponse(description="Rows"), 400: VALIDATION_ERROR, **AUTH_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        return Response(support.fleet(_fleet_query(request.query_params.dict())))


class DiagnosisView(APIView):
    """For the `support` role (a support token, or Django staff)."""

    permission_classes = [SupportPermission]

    @extend_schema(
        operation_id="support_location_diagnosis",
        summary="A location's diagnosis: the support checklist with its facts",
        responses={200: OpenApiResponse(description="Diagnosis"), 404: MISSING, **AUTH_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request, location_id: str) -> Response:
        result = support.diagnosis(location_id)
        if result is None:
            raise NotFound("Location not found.")
        return Response(result)


class SupportConnectionTestView(APIView):
    """For the `support` role (a support token, or Django staff): the connection test, as the vendor's."""

    permission_classes = [SupportPermission]

    @extend_schema(
        operation_id="support_connection_test",
        summary="Run the register connection test of a location's integration",
        request=None,
        responses={200: OpenApiResponse(description="Result"), 404: MISSING, **AUTH_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, location_id: str, provider: str) -> Response:
        if provider not in PROVIDERS:
            raise NotFound("Unknown provider.")
        integration = IntegrationRepository().get(location_id, provider)
        if integration is None:
            raise NotFound("This location has no integration for that provider.")
        result = get_service(provider).test_connection(integration)
        return Response({"connected": result.connected, "message": result.message})


@login_required
def fleet_page(request: HttpRequest) -> HttpResponse:
    if not is_support(request.user):
        raise PermissionDenied(SUPPORT_ONLY)
    try:
        query = _fleet_query(request.GET.dict())
    except serializers.ValidationError:
        query = support.FleetQuery()
    rows = support.fleet(query)
    return render(
        request,
        "incidents/support.html",
        {"rows": rows, "query": query, "providers": PROVIDERS, "sorts": support.SORTS},
    )


@login_required
def diagnosis_page(request: HttpRequest, location_id: str) -> HttpResponse:
    if not is_support(request.user):
        raise PermissionDenied(SUPPORT_ONLY)
    result = support.diagnosis(location_id)
    if result is None:
        raise Http404("Location not found.")
    return render(request, "incidents/support_location.html", {"d": result})
