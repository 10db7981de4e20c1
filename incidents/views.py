"""Notification channels, deliveries, incidents and readiness under `/api/backoffice/`.

Roles (django-rest-knox roles land on another branch; until then every view uses
`VendorPermission` and the caller's vendor scope, another vendor's ids answering 404):
- channels, deliveries, incidents: the `admin` role of the vendor;
- readiness: the `channel` role (kiosks, webshop), and `admin`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import (
    AUTH_ERRORS,
    LOCATION_NOT_FOUND,
    NOT_FOUND,
    VALIDATION_ERROR,
    ApiErrorSerializer,
    VendorPermission,
    allow,
    request_vendor_id,
    vendor_location_or_404,
)
from accounts.roles import ADMIN, CHANNEL, SUPPORT
from incidents import detection, notify
from incidents.readiness import readiness
from incidents.repository import (
    OPEN,
    Channel,
    ChannelRepository,
    DeliveryRepository,
    IncidentRepository,
)
from incidents.serializers import (
    ChannelCreatedSerializer,
    ChannelCreateSerializer,
    ChannelSerializer,
    DeliverySerializer,
    IncidentQuerySerializer,
    IncidentSerializer,
    ReadinessSerializer,
)

CHANNEL_TAGS = ["notifications"]
MISSING = OpenApiResponse(ApiErrorSerializer, description="Missing or another vendor's.")
CONFLICT = OpenApiResponse(ApiErrorSerializer, description="Not in a state that allows it.")


def _vendor(request: Request) -> str:
    return str(request_vendor_id(request))


def _channel_or_404(request: Request, channel_id: str) -> Channel:
    channel = ChannelRepository().get_for_vendor(channel_id, _vendor(request))
    if channel is None:
        raise NotFound("Notification channel not found.")
    return channel


class ChannelListView(APIView):
    """For the vendor's `admin` role."""

    permission_classes = [VendorPermission]

    @extend_schema(
        operation_id="notification_channels_list",
        summary="List your vendor's notification channels (secrets are never shown)",
        responses={200: ChannelSerializer(many=True), **AUTH_ERRORS},
        tags=CHANNEL_TAGS,
    )
    def get(self, request: Request) -> Response:
        channels = ChannelRepository().list_for_vendor(_vendor(request))
        return Response(ChannelSerializer(channels, many=True).data)

    @extend_schema(
        operation_id="notification_channels_create",
        summary="Add an e-mail or webhook channel (a webhook's secret is shown once, here)",
        request=ChannelCreateSerializer,
        responses={201: ChannelCreatedSerializer, 400: VALIDATION_ERROR, **AUTH_ERRORS},
        tags=CHANNEL_TAGS,
    )
    def post(self, request: Request) -> Response:
        form = ChannelCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        secret = token = None
        if data["kind"] == "webhook":
            secret, token = notify.new_secret()
        channel = ChannelRepository().create(
            vendor_id=_vendor(request),
            kind=data["kind"],
            target=data["target"],
            events=data["events"],
            secret_token=token,
            now=datetime.now(UTC),
        )
        body = dict(ChannelSerializer(channel).data) | {"secret": secret}
        return Response(body, status=status.HTTP_201_CREATED)


class ChannelDetailView(APIView):
    """For the vendor's `admin` role."""

    permission_classes = [VendorPermission]

    @extend_schema(
        operation_id="notification_channels_retrieve",
        summary="Show one notification channel",
        responses={200: ChannelSerializer, 404: MISSING, **AUTH_ERRORS},
        tags=CHANNEL_TAGS,
    )
    def get(self, request: Request, channel_id: str) -> Response:
        return Response(ChannelSerializer(_channel_or_404(request, channel_id)).data)

    @extend_schema(
        operation_id="notification_channels_delete",
        summary="Remove a notification channel",
        responses={204: None, 404: MISSING, **AUTH_ERRORS},
        tags=CHANNEL_TAGS,
    )
    def delete(self, request: Request, channel_id: str) -> Response:
        if not ChannelRepository().delete_for_vendor(channel_id, _vendor(request)):
            raise NotFound("Notification channel not found.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChannelTestView(APIView):
    """For the vendor's `admin` role."""

    permission_classes = [VendorPermission]

    @extend_schema(
        operation_id="notification_channels_test",
        summary="Send a test message now (one attempt) and answer how it went",
        request=None,
        responses={200: DeliverySerializer, 404: MISSING, **AUTH_ERRORS},
        tags=CHANNEL_TAGS,
    )
    def post(self, request: Request, channel_id: str) -> Response:
        delivery = notify.send_test(_channel_or_404(request, channel_id))
        return Response(DeliverySerializer(delivery).data)


class ChannelDeliveriesView(APIView):
    """For the vendor's `admin` role."""

    permission_classes = [VendorPermission]

    @extend_schema(
        operation_id="notification_channels_deliveries",
        summary="The channel's deliveries, newest first (at most 100)",
        responses={200: DeliverySerializer(many=True), 404: MISSING, **AUTH_ERRORS},
        tags=CHANNEL_TAGS,
    )
    def get(self, request: Request, channel_id: str) -> Response:
        channel = _channel_or_404(request, channel_id)
        deliveries = DeliveryRepository().list_for_channel(channel.id)
        return Response(DeliverySerializer(deliveries, many=True).data)


class DeliveryReplayView(APIView):
    """For the vendor's `admin` role."""

    permission_classes = [VendorPermission]

    @extend_schema(
        operation_id="notification_deliveries_replay",
        summary="Send a delivered or failed delivery again (same event id, new signature)",
        request=None,
        responses={202: DeliverySerializer, 404: MISSING, 409: CONFLICT, **AUTH_ERRORS},
        tags=CHANNEL_TAGS,
    )
    def post(self, request: Request, delivery_id: str) -> Response:
        repository = DeliveryRepository()
        delivery = repository.get_for_vendor(delivery_id, _vendor(request))
        if delivery is None:
            raise NotFound("Delivery not found.")
        replayed = repository.replay(delivery.id, now=datetime.now(UTC))
        if replayed is None:
            return Response(
                {
                    "detail": f"The delivery is {delivery.status}; only a delivered or failed "
                    "one can be replayed."
                },
                status=status.HTTP_409_CONFLICT,
            )
        notify.enqueue_delivery(replayed.id)
        return Response(DeliverySerializer(replayed).data, status=status.HTTP_202_ACCEPTED)


class IncidentListView(APIView):
    """For the vendor's `admin` role."""

    permission_classes = [VendorPermission]

    @extend_schema(
        operation_id="incidents_list",
        summary="Your vendor's incidents, newest first (at most 100)",
        parameters=[IncidentQuerySerializer],
        responses={200: IncidentSerializer(many=True), 400: VALIDATION_ERROR, **AUTH_ERRORS},
        tags=["incidents"],
    )
    def get(self, request: Request) -> Response:
        query = IncidentQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        incidents = IncidentRepository().search(
            vendor_id=_vendor(request),
            location_id=query.validated_data.get("location_id"),
            status=query.validated_data.get("status"),
        )
        return Response(IncidentSerializer(incidents, many=True).data)


class IncidentResolveView(APIView):
    """For the vendor's `admin` role: acknowledge an incident by hand."""

    permission_classes = [VendorPermission]

    @extend_schema(
        operation_id="incidents_resolve",
        summary="Resolve an open incident by hand (sends its resolution message)",
        request=None,
        responses={200: IncidentSerializer, 404: MISSING, 409: CONFLICT, **AUTH_ERRORS},
        tags=["incidents"],
    )
    def post(self, request: Request, incident_id: str) -> Response:
        incident = IncidentRepository().get_for_vendor(incident_id, _vendor(request))
        if incident is None:
            raise NotFound("Incident not found.")
        if incident.status != OPEN:
            return Response(
                {"detail": "The incident is already resolved."}, status=status.HTTP_409_CONFLICT
            )
        user = getattr(request.user, "username", "") or "a user"
        resolved = detection.resolve_incident(
            incident.kind, incident.location_id, f"Resolved by hand by {user}."
        )
        if resolved is None:
            return Response(
                {"detail": "The incident is already resolved."}, status=status.HTTP_409_CONFLICT
            )
        return Response(IncidentSerializer(resolved).data)


class ReadinessView(APIView):
    """For the `channel` role (kiosks, the webshop), the vendor's `admin` and `support`."""

    permission_classes = [allow(ADMIN, CHANNEL, SUPPORT)]

    @extend_schema(
        operation_id="locations_readiness",
        summary="Whether the location takes orders now, per channel, with the reasons if not",
        responses={200: ReadinessSerializer, 404: NOT_FOUND, **AUTH_ERRORS},
        tags=["locations"],
    )
    def get(self, request: Request, location_id: str) -> Response:
        location = vendor_location_or_404(request, location_id)  # another vendor's: 404
        result = readiness(location.id, location.vendor_id)
        if result is None:
            raise NotFound(LOCATION_NOT_FOUND)
        return Response(result.as_dict())
