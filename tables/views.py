"""Table-section endpoints under `/api/backoffice/locations/{location_id}/table-sections`.

Each view checks that the location belongs to the user's vendor (`accounts.api`: 404
otherwise), calls one service and shapes the answer.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import (
    AUTH_ERRORS,
    VALIDATION_ERROR,
    ApiErrorSerializer,
    allow,
    vendor_location_or_404,
)
from accounts.roles import ADMIN, SUPPORT
from locations.repository import Location
from tables import qr, services
from tables.repository import TableSection
from tables.serializers import TableSectionCreateSerializer, TableSectionSerializer

TAGS = ["table sections"]
NOT_FOUND = OpenApiResponse(
    ApiErrorSerializer,
    description="The location is missing or another vendor's (the same answer), "
    "or the section is not one of the location's.",
)


def _section_or_404(location: Location, section_id: str) -> TableSection:
    try:
        return services.get_section(location.id, section_id)
    except services.SectionNotFound as exc:
        raise NotFound(str(exc)) from exc


def _serialize(section: TableSection) -> Any:
    return TableSectionSerializer(section, context={"location_id": section.location_id}).data


class TableSectionListView(APIView):
    permission_classes = [allow(ADMIN, SUPPORT, post=(ADMIN,))]

    @extend_schema(
        operation_id="table_sections_list",
        tags=TAGS,
        summary="List the location's table sections",
        responses={200: TableSectionSerializer(many=True), 404: NOT_FOUND, **AUTH_ERRORS},
    )
    def get(self, request: Request, location_id: str) -> Response:
        location = vendor_location_or_404(request, location_id)
        sections = services.list_sections(location.id)
        return Response([_serialize(section) for section in sections])

    @extend_schema(
        operation_id="table_sections_create",
        tags=TAGS,
        summary="Create a section by hand",
        request=TableSectionCreateSerializer,
        responses={
            201: TableSectionSerializer,
            400: VALIDATION_ERROR,
            404: NOT_FOUND,
            **AUTH_ERRORS,
        },
    )
    def post(self, request: Request, location_id: str) -> Response:
        location = vendor_location_or_404(request, location_id)
        serializer = TableSectionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        section = services.create_section(
            location.id, serializer.validated_data["name"], serializer.validated_data["tables"]
        )
        return Response(_serialize(section), status=status.HTTP_201_CREATED)


class TableSectionDetailView(APIView):
    permission_classes = [allow(ADMIN, SUPPORT, delete=(ADMIN,))]

    @extend_schema(
        operation_id="table_sections_retrieve",
        tags=TAGS,
        summary="A section with its tables and their QR URLs",
        responses={200: TableSectionSerializer, 404: NOT_FOUND, **AUTH_ERRORS},
    )
    def get(self, request: Request, location_id: str, section_id: str) -> Response:
        location = vendor_location_or_404(request, location_id)
        return Response(_serialize(_section_or_404(location, section_id)))

    @extend_schema(
        operation_id="table_sections_destroy",
        tags=TAGS,
        summary="Delete a hand-made section",
        responses={
            204: None,
            404: NOT_FOUND,
            **AUTH_ERRORS,
            409: OpenApiResponse(
                ApiErrorSerializer,
                description="The section belongs to a POS integration; disconnect it instead.",
            ),
        },
    )
    def delete(self, request: Request, location_id: str, section_id: str) -> Response:
        location = vendor_location_or_404(request, location_id)
        try:
            services.delete_section(location.id, section_id)
        except services.SectionNotFound as exc:
            raise NotFound(str(exc)) from exc
        except services.SectionProtected as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


class JsonFirstNegotiation(BaseContentNegotiation):
    """Ignore `Accept` for download endpoints: files on success, JSON errors otherwise."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class TableSectionQrZipView(APIView):
    permission_classes = [allow(ADMIN, SUPPORT)]
    content_negotiation_class = JsonFirstNegotiation

    @extend_schema(
        operation_id="table_sections_qr_zip",
        tags=TAGS,
        summary="Every table's QR code as an SVG file (table-<n>.svg), in a ZIP",
        responses={(200, "application/zip"): OpenApiTypes.BINARY, 404: NOT_FOUND, **AUTH_ERRORS},
    )
    def get(self, request: Request, location_id: str, section_id: str) -> HttpResponse:
        section = _section_or_404(vendor_location_or_404(request, location_id), section_id)
        return _attachment(
            qr.qr_zip(section), "application/zip", f"table-qr-codes-{section.id}.zip"
        )


class TableSectionQrPdfView(APIView):
    permission_classes = [allow(ADMIN, SUPPORT)]
    content_negotiation_class = JsonFirstNegotiation

    @extend_schema(
        operation_id="table_sections_qr_pdf",
        tags=TAGS,
        summary="A printable A4 PDF of the tables' QR codes, six per page",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, 404: NOT_FOUND, **AUTH_ERRORS},
    )
    def get(self, request: Request, location_id: str, section_id: str) -> HttpResponse:
        location = vendor_location_or_404(request, location_id)
        section = _section_or_404(location, section_id)
        return _attachment(
            qr.qr_pdf(section, location.name),
            "application/pdf",
            f"table-qr-codes-{section.id}.pdf",
        )
