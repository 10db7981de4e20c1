"""Transactions endpoints under `/api/backoffice/`.

Every view scopes to the caller's vendor (`accounts.api`): another vendor's location or
transaction answers 404, like a missing one; the platform's support and payments tokens
see every vendor's. Each calls one service and shapes the answer. Roles: a vendor's admin
and channel create orders, admin and support list them and retry failed pushes, and only
the payments service confirms a payment (`payment-confirmed`; the providers' webhooks are
in `orders.webhooks`).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import (
    AUTH_ERRORS,
    VALIDATION_ERROR,
    ApiErrorSerializer,
    allow,
    request_vendor_id,
    sees_every_vendor,
    vendor_location_or_404,
)
from accounts.roles import ADMIN, CHANNEL, PAYMENTS, SUPPORT
from orders import services
from orders.pricing import LineRequest, ModifierRequest, PricingError
from orders.repository import Transaction, TransactionRepository
from orders.serializers import (
    PaymentConfirmedSerializer,
    TransactionCreateSerializer,
    TransactionListQuerySerializer,
    TransactionPageSerializer,
    TransactionSerializer,
)

TAGS = ["transactions"]
NOT_FOUND = OpenApiResponse(
    ApiErrorSerializer,
    description="The location or transaction is missing or another vendor's (the same answer).",
)
CONFLICT = OpenApiResponse(ApiErrorSerializer, description="The request conflicts with the order.")


def _transaction_or_404(request: Request, transaction_id: str) -> Transaction:
    vendor_id = request_vendor_id(request)
    repository = TransactionRepository()
    if sees_every_vendor(request):
        txn = repository.get(transaction_id)
    else:
        txn = repository.get_for_vendor(transaction_id, vendor_id) if vendor_id else None
    if txn is None:
        raise NotFound("Transaction not found.")
    return txn


def _data(txn: Transaction) -> Any:
    return TransactionSerializer(txn).data


def _lines(validated: list[dict[str, Any]]) -> list[LineRequest]:
    return [
        LineRequest(
            item_id=line["item_id"],
            quantity=line["quantity"],
            modifiers=[ModifierRequest(m["modifier_id"], m["quantity"]) for m in line["modifiers"]],
            note=line["note"],
        )
        for line in validated
    ]


class LocationTransactionsView(APIView):
    permission_classes = [allow(ADMIN, SUPPORT, post=(ADMIN, CHANNEL))]

    @extend_schema(
        operation_id="transactions_create",
        tags=TAGS,
        summary="Create an order priced from the location's current menu",
        request=TransactionCreateSerializer,
        responses={
            201: TransactionSerializer,
            400: VALIDATION_ERROR,
            404: NOT_FOUND,
            **AUTH_ERRORS,
        },
    )
    def post(self, request: Request, location_id: str) -> Response:
        location = vendor_location_or_404(request, location_id)
        serializer = TransactionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            txn = services.create_transaction(
                location,
                channel=data["channel"],
                table_number=data.get("table_number"),
                lines=_lines(data["lines"]),
                service_type=data["service_type"],
            )
        except PricingError as error:
            raise serializers.ValidationError({"lines": error.errors}) from error
        return Response(_data(txn), status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="transactions_list",
        tags=TAGS,
        summary="The location's orders, newest first",
        parameters=[TransactionListQuerySerializer],
        responses={
            200: TransactionPageSerializer,
            400: VALIDATION_ERROR,
            404: NOT_FOUND,
            **AUTH_ERRORS,
        },
    )
    def get(self, request: Request, location_id: str) -> Response:
        location = vendor_location_or_404(request, location_id)
        query = TransactionListQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        page, size = query.validated_data["page"], query.validated_data["page_size"]
        found = TransactionRepository().list_for_location(
            location.id,
            pos_status=query.validated_data.get("pos_status"),
            offset=(page - 1) * size,
            limit=size,
        )
        return Response(
            {
                "count": found.count,
                "page": page,
                "page_size": size,
                "results": [_data(txn) for txn in found.items],
            }
        )


class TransactionView(APIView):
    permission_classes = [allow(ADMIN, CHANNEL, SUPPORT)]

    @extend_schema(
        operation_id="transactions_retrieve",
        tags=TAGS,
        summary="An order with its payment and its push to the register",
        responses={200: TransactionSerializer, 404: NOT_FOUND, **AUTH_ERRORS},
    )
    def get(self, request: Request, transaction_id: str) -> Response:
        return Response(_data(_transaction_or_404(request, transaction_id)))


class PaymentConfirmedView(APIView):
    permission_classes = [allow(PAYMENTS)]

    @extend_schema(
        operation_id="transactions_payment_confirmed",
        tags=TAGS,
        summary="Record the payment and push the order to the register (idempotent)",
        description="Only the platform's payments service may call it (`create_service_token "
        "payments`); no vendor user or device can mark an order paid. A repeat with the same "
        "payment answers the same and pushes nothing again; another payment_reference for a "
        "paid order, or a payment_provider and payment_reference that already paid another "
        "order, is a 409. amount and currency must equal the order's (400).",
        request=PaymentConfirmedSerializer,
        responses={
            200: TransactionSerializer,
            400: VALIDATION_ERROR,
            404: NOT_FOUND,
            409: CONFLICT,
            **AUTH_ERRORS,
        },
    )
    def post(self, request: Request, transaction_id: str) -> Response:
        txn = _transaction_or_404(request, transaction_id)
        serializer = PaymentConfirmedSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            confirmation = services.confirm_payment(txn, **serializer.validated_data)
        except services.PaymentMismatchError as error:
            raise serializers.ValidationError({error.field: [str(error)]}) from error
        except services.PaymentConflictError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response(_data(confirmation.transaction))


class RetryPosView(APIView):
    permission_classes = [allow(ADMIN, SUPPORT)]

    @extend_schema(
        operation_id="transactions_retry_pos",
        tags=TAGS,
        summary="Push a failed order again, from the step that failed",
        request=None,
        responses={200: TransactionSerializer, 404: NOT_FOUND, 409: CONFLICT, **AUTH_ERRORS},
    )
    def post(self, request: Request, transaction_id: str) -> Response:
        txn = _transaction_or_404(request, transaction_id)
        try:
            resumed = services.retry_pos(txn)
        except services.NotRetryableError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response(_data(resumed))
