"""Menu endpoints: start an import, its runs, and read a location's imported menu.

- ``POST /api/backoffice/kassanet/{provider}/{location_id}/sync-menu`` (202, 409 while one
  runs; ``{"preview": true}``, ``{"confirm_deletions": true}``), routed from
  integrations/urls.py, like the runs:
- ``GET .../imports`` (newest first, paginated), ``GET .../imports/{run_id}``,
  ``POST .../imports/{run_id}/apply`` and ``POST .../imports/{run_id}/discard``;
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
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import kassanet
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
from menus.edits import EditError, effective_item_ids, reorder_display_group, update_item
from menus.images import delete_item_image, store_item_image
from menus.importer import (
    ImportInProgressError,
    ImportNotStartedError,
    RunConflictError,
    RunNotFoundError,
)
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
from menus.runs import ImportHistoryRepository
from menus.serializers import (
    CategorySerializer,
    DisplayGroupOrderSerializer,
    DisplayGroupSerializer,
    ImportRunAcceptedSerializer,
    ImportRunSerializer,
    InventorySerializer,
    ItemEditSerializer,
    ItemSerializer,
    MenuSerializer,
    MenuVersionSerializer,
    PageQuerySerializer,
    StockRefreshSerializer,
    SyncMenuRequestSerializer,
    SyncStartedSerializer,
    page_serializer,
)
from menus.stock import refresh_stock
from menus.versions import (
    MenuVersionRepository,
    RestoreFailedError,
    VersionNotFoundError,
    VersionRestorer,
)
from upvendo.pagination import MAX_OFFSET


class ImportInProgress(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "import_in_progress"


class ImportNotStarted(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "import_not_started"


class RunConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "run_conflict"


class RegisterUnavailable(APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "register_unavailable"


class SyncMenuView(KassanetView):
    permission_classes = [VendorPermission]  # admin: a vendor's staff

    @extend_schema(
        operation_id="kassanet_sync_menu",
        summary="Start a full menu import (or a preview) in the background",
        description="Answers 202 with the run id; follow the run (`imports/{run_id}`) or "
        "`sync_status` on the integration. 409 while an import of this integration is in "
        "progress. `preview` plans without writing; an import that would delete more than "
        "the mass-change guard allows is held as `needs_review` unless `confirm_deletions` "
        "(an admin action).",
        parameters=PATH_PARAMETERS,
        request=SyncMenuRequestSerializer,
        responses={
            202: SyncStartedSerializer,
            400: VALIDATION_ERROR,
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
        form = SyncMenuRequestSerializer(data=request.data or {})
        form.is_valid(raise_exception=True)
        preview: bool = form.validated_data["preview"]
        try:
            run_id = service.import_menu(
                integration,
                preview=preview,
                confirm_deletions=form.validated_data["confirm_deletions"],
            )
        except ImportInProgressError as error:
            raise ImportInProgress(str(error)) from None
        except ImportNotStartedError as error:
            raise ImportNotStarted(str(error)) from None
        return Response(
            {"run_id": run_id, "status": "in_progress", "preview": preview},
            status.HTTP_202_ACCEPTED,
        )


RUN_PARAMETERS = [
    *PATH_PARAMETERS,
    OpenApiParameter("run_id", OpenApiTypes.STR, OpenApiParameter.PATH),
]


class ImportRunsView(KassanetView):
    permission_classes = [allow(ADMIN, SUPPORT)]  # reads: admin, support

    @extend_schema(
        operation_id="kassanet_imports_list",
        summary="The integration's import runs, newest first (the last 50 are kept)",
        parameters=[
            *PATH_PARAMETERS,
            OpenApiParameter("limit", OpenApiTypes.INT, description="1-500, default 100"),
            OpenApiParameter("offset", OpenApiTypes.INT, description="default 0"),
        ],
        responses={
            200: page_serializer(ImportRunSerializer),
            400: VALIDATION_ERROR,
            404: NOT_FOUND,
            **AUTH_ERRORS,
        },
        tags=["kassanet"],
    )
    def get(self, request: Request, provider: str, location_id: str) -> Response:
        service, location = self.service_and_location(request, provider, location_id)
        integration = self.integration_or_404(service, location)
        query = PageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        limit, offset = query.validated_data["limit"], query.validated_data["offset"]
        total, runs = ImportHistoryRepository().page(integration.id, limit=limit, offset=offset)
        return Response(
            {
                "count": total,
                "limit": limit,
                "offset": offset,
                "results": ImportRunSerializer(runs, many=True).data,
            }
        )


class ImportRunView(KassanetView):
    permission_classes = [allow(ADMIN, SUPPORT)]  # reads: admin, support

    @extend_schema(
        operation_id="kassanet_imports_retrieve",
        summary="One import run with its report: counts, diff and skipped products",
        parameters=RUN_PARAMETERS,
        responses={200: ImportRunSerializer, 404: NOT_FOUND, **AUTH_ERRORS},
        tags=["kassanet"],
    )
    def get(self, request: Request, provider: str, location_id: str, run_id: str) -> Response:
        service, location = self.service_and_location(request, provider, location_id)
        integration = self.integration_or_404(service, location)
        run = ImportHistoryRepository().get(run_id, integration.id)
        if run is None:
            raise NotFound(f"This integration has no import run {run_id!r}.")
        return Response(ImportRunSerializer(run).data)


class ImportRunApplyView(KassanetView):
    """Apply a held run. An admin action (the `admin` role)."""

    permission_classes = [VendorPermission]  # admin action

    @extend_schema(
        operation_id="kassanet_imports_apply",
        summary="Apply a preview or a run held for review (in the background)",
        description="Reads the register again: 409 \"The register's menu changed since this "
        'preview; preview again" when its content hash differs, 409 too when another import '
        "was applied since the run was planned, or when the run is not `preview` / "
        "`needs_review`. 502 when the register cannot be read.",
        parameters=RUN_PARAMETERS,
        request=None,
        responses={
            202: ImportRunAcceptedSerializer,
            404: NOT_FOUND,
            409: OpenApiResponse(ApiErrorSerializer, description="Cannot be applied."),
            502: OpenApiResponse(ApiErrorSerializer, description="The register is unavailable."),
            503: OpenApiResponse(ApiErrorSerializer, description="The task queue is down."),
            **AUTH_ERRORS,
        },
        tags=["kassanet"],
    )
    def post(self, request: Request, provider: str, location_id: str, run_id: str) -> Response:
        service, location = self.service_and_location(request, provider, location_id)
        integration = self.integration_or_404(service, location)
        try:
            service.apply_import(integration, run_id)
        except RunNotFoundError as error:
            raise NotFound(str(error)) from None
        except (RunConflictError, ImportInProgressError) as error:
            raise RunConflict(str(error)) from None
        except ImportNotStartedError as error:
            raise ImportNotStarted(str(error)) from None
        except kassanet.KassanetError as error:
            raise RegisterUnavailable(
                f"The register could not be read ({error.message}); nothing was applied."
            ) from None
        return Response({"run_id": run_id, "status": "in_progress"}, status.HTTP_202_ACCEPTED)


class ImportRunDiscardView(KassanetView):
    """Discard a held run. An admin action (the `admin` role)."""

    permission_classes = [VendorPermission]  # admin action

    @extend_schema(
        operation_id="kassanet_imports_discard",
        summary="Discard a preview or a run held for review (nothing is written)",
        parameters=RUN_PARAMETERS,
        request=None,
        responses={
            200: ImportRunSerializer,
            404: NOT_FOUND,
            409: OpenApiResponse(ApiErrorSerializer, description="Not a held run."),
            **AUTH_ERRORS,
        },
        tags=["kassanet"],
    )
    def post(self, request: Request, provider: str, location_id: str, run_id: str) -> Response:
        service, location = self.service_and_location(request, provider, location_id)
        integration = self.integration_or_404(service, location)
        try:
            service.discard_import(integration, run_id)
        except RunNotFoundError as error:
            raise NotFound(str(error)) from None
        except RunConflictError as error:
            raise RunConflict(str(error)) from None
        return Response(ImportRunSerializer(ImportHistoryRepository().get(run_id)).data)


class ItemEditView(APIView):
    """Local edits of an item. An admin action (roles: admin; VendorPermission until then)."""

    permission_classes = [VendorPermission]

    @extend_schema(
        operation_id="location_item_update",
        summary="Edit an item's local fields (description, display_order); kept by imports",
        description="POS-owned fields (name, price, kitchen_name, plu, vat_rate, modifiers ...) "
        "are refused: 400 naming the field.",
        parameters=[
            OpenApiParameter("location_id", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter("item_id", OpenApiTypes.STR, OpenApiParameter.PATH),
        ],
        request=ItemEditSerializer,
        responses={200: ItemSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND, **AUTH_ERRORS},
        tags=["menu"],
    )
    def patch(self, request: Request, location_id: str, item_id: str) -> Response:
        location = vendor_location_or_404(request, location_id)
        form = ItemEditSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        item = update_item(location.id, item_id, dict(form.validated_data))
        if item is None:
            raise NotFound("Item not found.")
        return Response(ItemSerializer(ItemsView.expand([item])[0]).data)


class DisplayGroupEditView(APIView):
    """Reorder a display group's items. An admin action (roles: admin)."""

    permission_classes = [VendorPermission]

    @extend_schema(
        operation_id="location_display_group_update",
        summary="Reorder a display group's items (a local edit, kept by imports)",
        parameters=[
            OpenApiParameter("location_id", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter("group_id", OpenApiTypes.STR, OpenApiParameter.PATH),
        ],
        request=DisplayGroupOrderSerializer,
        responses={
            200: DisplayGroupSerializer,
            400: VALIDATION_ERROR,
            404: NOT_FOUND,
            **AUTH_ERRORS,
        },
        tags=["menu"],
    )
    def patch(self, request: Request, location_id: str, group_id: str) -> Response:
        location = vendor_location_or_404(request, location_id)
        form = DisplayGroupOrderSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            group = reorder_display_group(location.id, group_id, form.validated_data["item_ids"])
        except EditError as error:
            raise ValidationError(error.errors) from None
        if group is None:
            raise NotFound("Display group not found.")
        return Response(DisplayGroupSerializer(DisplayGroupsView.ordered([group])[0]).data)


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
        return self.expand(page.documents)

    @staticmethod
    def expand(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        group_ids = {gid for doc in documents for gid in doc.get("modifier_group_ids", [])}
        groups = ModifierGroupRepository().get_many(group_ids)
        return [
            {
                **doc,
                "modifier_groups": [
                    groups[gid] for gid in doc.get("modifier_group_ids", []) if gid in groups
                ],
            }
            for doc in documents
        ]


@extend_schema_view(
    get=list_schema(
        "display_groups", DisplayGroupSerializer, "The location's display groups, in order"
    )
)
class DisplayGroupsView(LocationRecordsView):
    repository = DisplayGroupRepository
    serializer = DisplayGroupSerializer

    def documents(self, page: Page) -> list[dict[str, Any]]:
        return self.ordered(page.documents)

    @staticmethod
    def ordered(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``item_ids`` in the local order when one was set (menus/edits.py)."""
        return [{**doc, "item_ids": effective_item_ids(doc)} for doc in documents]


@extend_schema_view(get=list_schema("menus", MenuSerializer, "The location's menus"))
class MenusView(LocationRecordsView):
    repository = MenuRepository
    serializer = MenuSerializer


@extend_schema_view(get=list_schema("inventory", InventorySerializer, "Stock per item"))
class InventoryView(LocationRecordsView):
    repository = InventoryRepository
    serializer = InventorySerializer


class MenuVersionsView(KassanetView):
    permission_classes = [allow(ADMIN, SUPPORT)]  # reads: admin, support

    @extend_schema(
        operation_id="kassanet_menu_versions_list",
        summary="The kept menu versions (the menus applied imports replaced), newest first",
        parameters=PATH_PARAMETERS,
        responses={200: MenuVersionSerializer(many=True), 404: NOT_FOUND, **AUTH_ERRORS},
        tags=["kassanet"],
    )
    def get(self, request: Request, provider: str, location_id: str) -> Response:
        service, location = self.service_and_location(request, provider, location_id)
        integration = self.integration_or_404(service, location)
        versions = MenuVersionRepository().list(integration.id)
        return Response(MenuVersionSerializer(versions, many=True).data)


class MenuVersionRestoreView(KassanetView):
    """Restore a version. An admin action (the `admin` role)."""

    permission_classes = [VendorPermission]  # admin action

    @extend_schema(
        operation_id="kassanet_menu_versions_restore",
        summary="Put a kept menu version back, in one transaction (recorded as a run)",
        description="Items the register no longer has come back flagged `register_missing`. "
        "409 while an import runs; 502 when the register cannot be read (nothing restored).",
        parameters=[
            *PATH_PARAMETERS,
            OpenApiParameter("version_id", OpenApiTypes.STR, OpenApiParameter.PATH),
        ],
        request=None,
        responses={
            200: ImportRunSerializer,
            404: NOT_FOUND,
            409: OpenApiResponse(ApiErrorSerializer, description="An import is in progress."),
            502: OpenApiResponse(ApiErrorSerializer, description="The register is unavailable."),
            503: OpenApiResponse(
                ApiErrorSerializer, description="The database refused; the menu is unchanged."
            ),
            **AUTH_ERRORS,
        },
        tags=["kassanet"],
    )
    def post(self, request: Request, provider: str, location_id: str, version_id: str) -> Response:
        service, location = self.service_and_location(request, provider, location_id)
        integration = self.integration_or_404(service, location)
        try:
            run = VersionRestorer(service).restore(integration, version_id)
        except VersionNotFoundError as error:
            raise NotFound(str(error)) from None
        except RestoreFailedError as error:
            raise ImportNotStarted(str(error)) from None
        except ImportInProgressError as error:
            raise RunConflict(str(error)) from None
        except kassanet.KassanetError as error:
            raise RegisterUnavailable(
                f"The register could not be read ({error.message}); nothing was restored."
            ) from None
        return Response(ImportRunSerializer(run).data)


class StockRefreshView(KassanetView):
    permission_classes = [VendorPermission]  # admin action

    @extend_schema(
        operation_id="kassanet_refresh_stock",
        summary="Refresh stock and availability from the register now (the menu is untouched)",
        parameters=PATH_PARAMETERS,
        request=None,
        responses={
            200: StockRefreshSerializer,
            404: NOT_FOUND,
            502: OpenApiResponse(ApiErrorSerializer, description="The register is unavailable."),
            **AUTH_ERRORS,
        },
        tags=["kassanet"],
    )
    def post(self, request: Request, provider: str, location_id: str) -> Response:
        service, location = self.service_and_location(request, provider, location_id)
        integration = self.integration_or_404(service, location)
        try:
            result = refresh_stock(service, integration)
        except kassanet.KassanetError as error:
            raise RegisterUnavailable(
                f"The register could not be read ({error.message}); stock is unchanged."
            ) from None
        return Response(StockRefreshSerializer(result.as_dict()).data)


class ItemImageView(APIView):
    """An item's image. An admin action (roles: admin; VendorPermission until then)."""

    permission_classes = [VendorPermission]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="location_item_image_put",
        summary="Upload an item's image (JPEG, PNG or WebP, at most 5 MB; a thumbnail is made)",
        parameters=[
            OpenApiParameter("location_id", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter("item_id", OpenApiTypes.STR, OpenApiParameter.PATH),
        ],
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"image": {"type": "string", "format": "binary"}},
                "required": ["image"],
            }
        },
        responses={200: ItemSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND, **AUTH_ERRORS},
        tags=["menu"],
    )
    def put(self, request: Request, location_id: str, item_id: str) -> Response:
        location = vendor_location_or_404(request, location_id)
        upload = request.FILES.get("image")
        if upload is None:
            raise ValidationError({"image": ["Attach the image file as the form field 'image'."]})
        try:
            item = store_item_image(location.id, item_id, upload)
        except EditError as error:
            raise ValidationError(error.errors) from None
        if item is None:
            raise NotFound("Item not found.")
        return Response(ItemSerializer(ItemsView.expand([item])[0]).data)

    @extend_schema(
        operation_id="location_item_image_delete",
        summary="Remove an item's image",
        parameters=[
            OpenApiParameter("location_id", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter("item_id", OpenApiTypes.STR, OpenApiParameter.PATH),
        ],
        responses={200: ItemSerializer, 404: NOT_FOUND, **AUTH_ERRORS},
        tags=["menu"],
    )
    def delete(self, request: Request, location_id: str, item_id: str) -> Response:
        location = vendor_location_or_404(request, location_id)
        item = delete_item_image(location.id, item_id)
        if item is None:
            raise NotFound("Item not found.")
        return Response(ItemSerializer(ItemsView.expand([item])[0]).data)
