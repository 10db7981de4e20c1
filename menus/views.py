"""Menu endpoints: start an import, and read a location's imported menu.

- ``POST /api/backoffice/kassanet/{provider}/{location_id}/sync-menu`` (202, 409 while one
  runs), routed from integrations/urls.py;
- ``GET /api/backoffice/locations/{location_id}/{categories|items|display-groups|menus|
  inventory}``: paginated with ``limit``/``offset``, only the caller's vendor's locations.
"""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import (
    AUTH_ERRORS,
    NOT_FOUND,
    VALIDATION_ERROR,
    ApiErrorSerializer,
    VendorPermission,
    allow,
    vendor_location_or_404,
)
from accounts.roles import ADMIN, CHANNEL, SUPPORT
from integrations.views import PATH_PARAMETERS, KassanetView
from menus.importer import ImportInProgressError, ImportNotStartedError
from menus.repository import (
    CategoryRepository,
    DisplayGroupRepository,
    ImportedRecordRepository,
    InventoryRepository,
    ItemRepository,
    MenuRepository,
    ModifierGroupRepository,
    Page,
)
from menus.serializers import (
    CategorySerializer,
    DisplayGroupSerializer,
    InventorySerializer,
    ItemSerializer,
    MenuSerializer,
    PageQuerySerializer,
    SyncStartedSerializer,
    page_serializer,
)
from upvendo.pagination import MAX_OFFSET


class ImportInProgress(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "import_in_progress"


class ImportNotStarted(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "import_not_started"


class SyncMenuView(KassanetView):
    permission_classes = [VendorPermission]  # admin: a vendor's staff

    @extend_schema(
        operation_id="kassanet_sync_menu",
        summary="Start a full menu import in the background",
        description="Answers 202 with the run id; follow `sync_status` on the integration. "
        "409 while an import of this integration is in progress.",
        parameters=PATH_PARAMETERS,
        request=None,
        responses={
            202: SyncStartedSerializer,
            404: NOT_FOUND,
            409: OpenApiResponse(ApiErrorSerializer, description="An import is in progress."),
            503: OpenApiResponse(
                ApiErrorSerializer, description="The task queue is unavailable; nothing started."
            ),
            **AUTH_ERRORS,
        },
        tags=["kassanet"],
    )
    def post(self, request: Request, provider: str, location_id: str) -> Response:
        service, location = self.service_and_location(request, provider, location_id)
        integration = self.integration_or_404(service, location)
        try:
            run_id = service.import_menu(integration)
        except ImportInProgressError as error:
            raise ImportInProgress(str(error)) from None
        except ImportNotStartedError as error:
            raise ImportNotStarted(str(error)) from None
        return Response({"run_id": run_id, "status": "in_progress"}, status.HTTP_202_ACCEPTED)


class LocationRecordsView(APIView):
    """A paginated list of one kind of a location's menu records."""

    permission_classes = [allow(ADMIN, CHANNEL, SUPPORT)]
    repository: ClassVar[type[ImportedRecordRepository]]
    serializer: ClassVar[type[serializers.Serializer[Any]]]

    def documents(self, page: Page) -> list[dict[str, Any]]:
        return page.documents

    def get(self, request: Request, location_id: str) -> Response:
        location = vendor_location_or_404(request, location_id)
        query = PageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        limit, offset = query.validated_data["limit"], query.validated_data["offset"]
        page = self.repository().page_for_location(location.id, limit=limit, offset=offset)
        return Response(
            {
                "count": page.total,
                "limit": limit,
                "offset": offset,
                "results": self.serializer(self.documents(page), many=True).data,
            }
        )


def list_schema(name: str, serializer: type[serializers.Serializer[Any]], summary: str) -> Any:
    return extend_schema(
        operation_id=f"location_{name}_list",
        summary=summary,
        parameters=[
            OpenApiParameter("location_id", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1-500, default 100"),
            OpenApiParameter("offset", OpenApiTypes.INT, description=f"0-{MAX_OFFSET}, default 0"),
        ],
        responses={
            200: page_serializer(serializer),
            400: VALIDATION_ERROR,
            404: NOT_FOUND,
            **AUTH_ERRORS,
        },
        tags=["menu"],
    )


@extend_schema_view(get=list_schema("categories", CategorySerializer, "The location's categories"))
class CategoriesView(LocationRecordsView):
    repository = CategoryRepository
    serializer = CategorySerializer


@extend_schema_view(
    get=list_schema(
        "items", ItemSerializer, "The location's items, with their modifier groups expanded"
    )
)
class ItemsView(LocationRecordsView):
    repository = ItemRepository
    serializer = ItemSerializer

    def documents(self, page: Page) -> list[dict[str, Any]]:
        group_ids = {gid for doc in page.documents for gid in doc.get("modifier_group_ids", [])}
        groups = ModifierGroupRepository().get_many(group_ids)
        return [
            {
                **doc,
                "modifier_groups": [
                    groups[gid] for gid in doc.get("modifier_group_ids", []) if gid in groups
                ],
            }
            for doc in page.documents
        ]


@extend_schema_view(
    get=list_schema(
        "display_groups", DisplayGroupSerializer, "The location's display groups, in order"
    )
)
class DisplayGroupsView(LocationRecordsView):
    repository = DisplayGroupRepository
    serializer = DisplayGroupSerializer


@extend_schema_view(get=list_schema("menus", MenuSerializer, "The location's menus"))
class MenusView(LocationRecordsView):
    repository = MenuRepository
    serializer = MenuSerializer


@extend_schema_view(get=list_schema("inventory", InventorySerializer, "Stock per item"))
class InventoryView(LocationRecordsView):
    repository = InventoryRepository
    serializer = InventorySerializer
