from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import (
    AUTH_ERRORS,
    NOT_FOUND,
    VALIDATION_ERROR,
    allow,
    request_vendor_id,
    sees_every_vendor,
    vendor_location_or_404,
)
from accounts.roles import ADMIN, CHANNEL, SUPPORT
from locations.repository import LocationRepository
from locations.serializers import LocationCreateSerializer, LocationSerializer


class LocationListView(APIView):
    permission_classes = [allow(ADMIN, CHANNEL, SUPPORT, post=(ADMIN,))]

    @extend_schema(
        operation_id="locations_list",
        summary="List your vendor's locations (every vendor's for support)",
        responses={200: LocationSerializer(many=True), **AUTH_ERRORS},
        tags=["locations"],
    )
    def get(self, request: Request) -> Response:
        repository = LocationRepository()
        locations = (
            repository.list_all()
            if sees_every_vendor(request)
            else repository.list_for_vendor(str(request_vendor_id(request)))
        )
        return Response(LocationSerializer(locations, many=True).data)

    @extend_schema(
        operation_id="locations_create",
        summary="Create a location",
        request=LocationCreateSerializer,
        responses={201: LocationSerializer, 400: VALIDATION_ERROR, **AUTH_ERRORS},
        tags=["locations"],
    )
    def post(self, request: Request) -> Response:
        form = LocationCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        location = LocationRepository().create(
            vendor_id=str(request_vendor_id(request)), **form.validated_data
        )
        return Response(LocationSerializer(location).data, status=status.HTTP_201_CREATED)


class LocationDetailView(APIView):
    permission_classes = [allow(ADMIN, CHANNEL, SUPPORT)]

    @extend_schema(
        operation_id="locations_retrieve",
        summary="Show a location with its POS connection status per provider",
        responses={200: LocationSerializer, 404: NOT_FOUND, **AUTH_ERRORS},
        tags=["locations"],
    )
    def get(self, request: Request, location_id: str) -> Response:
        return Response(LocationSerializer(vendor_location_or_404(request, location_id)).data)
