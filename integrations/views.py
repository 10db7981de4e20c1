"""Backoffice endpoints of a location's Kassanet integration (one per provider)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import (
    AUTH_ERRORS,
    NOT_FOUND,
    VALIDATION_ERROR,
    allow,
    vendor_location_or_404,
)
from accounts.roles import ADMIN, CHANNEL, SUPPORT
from integrations.providers import PROVIDERS
from integrations.repository import Integration
from integrations.serializers import (
    ConnectionTestSerializer,
    ConnectSerializer,
    IntegrationSerializer,
)
from integrations.services import (
    KEEP,
    AbstractKassanetService,
    UnknownProviderError,
    get_service,
)
from locations.repository import Location

PATH_PARAMETERS = [
    OpenApiParameter("provider", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(PROVIDERS)),
    OpenApiParameter("location_id", OpenApiTypes.STR, OpenApiParameter.PATH),
]
TAGS = ["kassanet"]


class KassanetView(APIView):
    """Resolves `provider` and `location_id` for the caller, or answers 404.

    Reading an integration (masked credentials, connection and sync status: whether the
    register is ready for orders) is for admin, channel and support; changing it for admin.
    """

    permission_classes = [allow(ADMIN, CHANNEL, SUPPORT, post=(ADMIN,), delete=(ADMIN,))]

    def service_and_location(
        self, request: Request, provider: str, location_id: str
    ) -> tuple[AbstractKassanetService, Location]:
        try:
            service = get_service(provider)
        except UnknownProviderError as error:
            raise NotFound(str(error)) from None
        return service, vendor_location_or_404(request, location_id)

    def integration_or_404(
        self, service: AbstractKassanetService, location: Location
    ) -> Integration:
        integration = service.integrations.get(location.id, service.provider)
        if integration is None:
            raise NotFound(f"This location has no {service.display_name} integration.")
        return integration

    def details(self, service: AbstractKassanetService, integration: Integration) -> Response:
        logs = service.integrations.logs(integration.id)
        return Response(IntegrationSerializer.build(integration, logs))


class IntegrationView(KassanetView):
    @extend_schema(
        operation_id="kassanet_connect",
        summary="Save credentials and settings (connect, or update the existing integration)",
        parameters=PATH_PARAMETERS,
        request=ConnectSerializer,
        responses={
            200: IntegrationSerializer,
            400: VALIDATION_ERROR,
            404: NOT_FOUND,
            **AUTH_ERRORS,
        },
        tags=TAGS,
    )
    def post(self, request: Request, provider: str, location_id: str) -> Response:
        service, location = self.service_and_location(request, provider, location_id)
        existing = service.integrations.get(location.id, service.provider)
        form = ConnectSerializer(
            data=request.data, context={"stored": existing.credentials if existing else None}
        )
        form.is_valid(raise_exception=True)
        sync_time = form.validated_data.get("sync_time", ...)
        integration = service.connect(
            location,
            form.credentials(),
            KEEP if sync_time is ... else sync_time,
            allow_unsigned_responses=form.validated_data.get("allow_unsigned_responses"),
        )
        extra = {
            name: form.validated_data[name]
            for name in ("max_delete_share", "stock_refresh_minutes")
            if name in form.validated_data
        }
        if extra:
            service.integrations.update_settings(integration.id, **extra)
            integration = service.integrations.get_by_id(integration.id) or integration
        return self.details(service, integration)

    @extend_schema(
        operation_id="kassanet_retrieve",
        summary="Integration details: masked credentials, settings, sync and connection status, logs",
        parameters=PATH_PARAMETERS,
        responses={200: IntegrationSerializer, 404: NOT_FOUND, **AUTH_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request, provider: str, location_id: str) -> Response:
        service, location = self.service_and_location(request, provider, location_id)
        return self.details(service, self.integration_or_404(service, location))

    @extend_schema(
        operation_id="kassanet_disconnect",
        summary="Disconnect: remove the integration and everything it imported",
        parameters=PATH_PARAMETERS,
        responses={204: None, 404: NOT_FOUND, **AUTH_ERRORS},
        tags=TAGS,
    )
    def delete(self, request: Request, provider: str, location_id: str) -> Response:
        service, location = self.service_and_location(request, provider, location_id)
        if not service.disconnect(location.id):
            raise NotFound(f"This location has no {service.display_name} integration.")
        return Response(status=status.HTTP_204_NO_CONTENT)


SESSION_GET_REFUSED = (
    "A logged-in session must test the connection with POST and its CSRF token; "
    "GET is for API tokens."
)


class ConnectionTestView(KassanetView):
    """The connection test changes state (connection status, payment type, logs), so a session
    (cookie) caller must use POST, where CSRF is checked; GET stays for API token clients."""

    permission_classes = [allow(ADMIN, SUPPORT)]
    throttle_scope = "connection-test"

    @extend_schema(
        operation_id="kassanet_test_connection",
        summary="Test the connection to the register (200 with the outcome, also when it fails)",
        parameters=PATH_PARAMETERS,
        request=None,
        responses={200: ConnectionTestSerializer, 404: NOT_FOUND, **AUTH_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, provider: str, location_id: str) -> Response:
        return self.run_test(request, provider, location_id)

    @extend_schema(
        operation_id="kassanet_test_connection_get",
        summary="Test the connection, for API token clients (a session gets 403: use POST)",
        parameters=PATH_PARAMETERS,
        responses={200: ConnectionTestSerializer, 404: NOT_FOUND, **AUTH_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request, provider: str, location_id: str) -> Response:
        if isinstance(request.successful_authenticator, SessionAuthentication):
            raise PermissionDenied(SESSION_GET_REFUSED)
        return self.run_test(request, provider, location_id)

    def run_test(self, request: Request, provider: str, location_id: str) -> Response:
        service, location = self.service_and_location(request, provider, location_id)
        result = service.test_connection(self.integration_or_404(service, location))
        system = result.system
        return Response(
            ConnectionTestSerializer(
                {
                    "connected": result.connected,
                    "message": result.message,
                    "system": system,
                    "payment_type_id": result.payment_type_id,
                }
            ).data
        )
