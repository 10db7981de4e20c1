"""The payment providers' webhooks: `/api/webhooks/stripe` and `/api/webhooks/viva-wallet`.

They carry no token; each request is verified the provider's own way before anything is
trusted, then confirmed through `orders.services.confirm_payment` like every payment:

- Stripe: the `Stripe-Signature` header, checked by the official library
  (`stripe.Webhook.construct_event`) with `STRIPE_WEBHOOK_SECRET`, refusing a timestamp
  older than `STRIPE_WEBHOOK_TOLERANCE_SECONDS`. `payment_intent.succeeded` pays the order
  named by the PaymentIntent's `metadata.transaction_id`.
- Viva Wallet: the GET answers Viva's verification-key handshake; a POSTed "Transaction
  Payment Created" event (EventTypeId 1796) is only a hint: its transaction is read back
  from Viva's API (`orders.viva`), and Viva's answer (status F, amount, currency and
  `merchantTrns`, the order's id) is what confirms the payment.

Answers: 200 when the payment is recorded (or the event is one we do not act on), 400 for
an event that cannot be verified or does not match its order, 404 for an order that does
not exist or a provider that is not configured here (no secret or credentials: nothing is
asked of anyone), 409 when the payment already paid another order, 503 when the provider
cannot be reached (the provider then delivers again later).
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import ApiErrorSerializer
from orders import services
from orders.repository import TransactionRepository
from orders.viva import SUCCESSFUL, VivaClient, VivaError, is_transaction_id
from upvendo.logging import register_secret
from upvendo.security import ScopedThrottle

logger = logging.getLogger(__name__)

TAGS = ["webhooks"]
STRIPE = "stripe"
VIVA_WALLET = "viva-wallet"
STRIPE_METADATA_KEY = "transaction_id"
VIVA_TRANSACTION_PAYMENT_CREATED = 1796
# Stripe amounts are in the currency's smallest unit; these have none or three decimals.
STRIPE_ZERO_DECIMAL = {
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
}  # fmt: skip
STRIPE_THREE_DECIMAL = {"BHD", "JOD", "KWD", "OMR", "TND"}

DETAIL = OpenApiResponse(ApiErrorSerializer, description="What was done, or why not.")
NOT_ENABLED = "{} webhooks are not enabled on this server."


def _answer(detail: str, code: int = status.HTTP_200_OK) -> Response:
    return Response({"detail": detail}, status=code)


def stripe_amount(amount: int, currency: str) -> Decimal:
    """A Stripe amount (smallest unit) in the currency's units: 3540 EUR is 35.40."""
    code = currency.upper()
    exponent = 0 if code in STRIPE_ZERO_DECIMAL else 3 if code in STRIPE_THREE_DECIMAL else 2
    return Decimal(amount).scaleb(-exponent)


def confirm(
    provider: str, reference: str, transaction_id: str, amount: Decimal, currency: str
) -> Response:
    """Pay the order with a payment its provider vouched for."""
    txn = TransactionRepository().get(transaction_id)
    if txn is None:
        logger.error("A %s payment %s names no known order", provider, reference)
        return _answer("No order has this id.", status.HTTP_404_NOT_FOUND)
    try:
        confirmation = services.confirm_payment(
            txn,
            amount=amount,
            currency=currency,
            payment_provider=provider,
            payment_reference=reference,
        )
    except services.PaymentMismatchError as error:
        logger.error(
            "A %s payment %s does not match order %s: %s", provider, reference, txn.id, error
        )
        return _answer(str(error), status.HTTP_400_BAD_REQUEST)
    except services.PaymentConflictError as error:
        logger.error(
            "A %s payment %s conflicts with order %s: %s", provider, reference, txn.id, error
        )
        return _answer(str(error), status.HTTP_409_CONFLICT)
    done = "paid" if confirmation.first else "already paid with this payment"
    return _answer(f"Order {txn.id} {done}.")


class StripeWebhookView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]  # documents the body; the views read the raw bytes
    throttle_classes = [ScopedThrottle]  # API_THROTTLE_WEBHOOKS, not the anonymous rate
    throttle_scope = "webhooks"

    @extend_schema(
        operation_id="webhooks_stripe",
        tags=TAGS,
        summary="Stripe's webhook: payment_intent.succeeded pays the order in its metadata",
        description="No token: the `Stripe-Signature` header must be Stripe's signature of "
        "the raw body with the endpoint's secret, at most STRIPE_WEBHOOK_TOLERANCE_SECONDS "
        "old (400 otherwise). The PaymentIntent's `metadata.transaction_id` names the order; "
        "`amount_received` and `currency` must be the order's total and currency.",
        request=OpenApiTypes.OBJECT,
        responses={200: DETAIL, 400: DETAIL, 404: DETAIL, 409: DETAIL, 503: DETAIL},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            return _answer(NOT_ENABLED.format("Stripe"), status.HTTP_404_NOT_FOUND)
        register_secret(secret)  # redacted from every log line, should one ever carry it
        try:
            verified = stripe.Webhook.construct_event(
                request.body,
                request.META.get("HTTP_STRIPE_SIGNATURE", ""),
                secret,
                tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
            )
        except stripe.SignatureVerificationError:
            logger.warning("Refused a Stripe webhook: its signature is invalid or too old")
            return _answer(
                "The Stripe-Signature header does not sign this body with our secret, or its "
                "timestamp is too old.",
                status.HTTP_400_BAD_REQUEST,
            )
        except ValueError:
            return _answer("The body is not a Stripe event.", status.HTTP_400_BAD_REQUEST)
        event: dict[str, Any] = verified.to_dict()
        if event.get("type") != "payment_intent.succeeded":
            return _answer(f"Ignored: {event.get('type')} is not handled.")
        intent = event.get("data", {}).get("object") or {}
        metadata = intent.get("metadata") or {}
        transaction_id = metadata.get(STRIPE_METADATA_KEY)
        if not transaction_id:
            return _answer(f"Ignored: the PaymentIntent has no metadata.{STRIPE_METADATA_KEY}.")
        amount, currency = intent.get("amount_received"), intent.get("currency")
        if not isinstance(amount, int) or not isinstance(currency, str):
            return _answer(
                "The PaymentIntent has no amount_received or currency.", status.HTTP_400_BAD_REQUEST
            )
        return confirm(
            STRIPE,
            str(intent["id"]),
            str(transaction_id),
            stripe_amount(amount, currency),
            currency,
        )


class VivaWalletWebhookView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]  # documents the body; the views read the raw bytes
    throttle_classes = [ScopedThrottle]  # API_THROTTLE_WEBHOOKS, not the anonymous rate
    throttle_scope = "webhooks"

    @extend_schema(
        operation_id="webhooks_viva_wallet_verify",
        tags=TAGS,
        summary="Viva Wallet's webhook verification: answers the merchant's key",
        description="Viva calls it when the webhook URL is set up. The key is read from "
        "Viva's API with VIVA_MERCHANT_ID and VIVA_API_KEY (404 when they are not set, 503 "
        "when Viva cannot be reached).",
        responses={
            200: OpenApiResponse(
                {"type": "object", "properties": {"Key": {"type": "string"}}},
                description="The verification key, as Viva gave it.",
            ),
            404: DETAIL,
            503: DETAIL,
        },
        auth=[],
    )
    def get(self, request: Request) -> Response:
        client = VivaClient.from_settings()
        if not client.can_read_webhook_key:
            return _answer(NOT_ENABLED.format("Viva Wallet"), status.HTTP_404_NOT_FOUND)
        try:
            key = client.webhook_key()
        except VivaError as error:
            return _answer(str(error), status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response({"Key": key})

    @extend_schema(
        operation_id="webhooks_viva_wallet",
        tags=TAGS,
        summary="Viva Wallet's webhook: a Transaction Payment Created event pays its order",
        description="No token, and the event itself is not trusted: its "
        "`EventData.TransactionId` is read back from Viva's API (OAuth2 client credentials), "
        "and only a transaction Viva reports as successful (statusId F) confirms the order "
        "named by its `merchantTrns`, with Viva's amount and currency. Other event types "
        "are answered 200 and ignored.",
        request=OpenApiTypes.OBJECT,
        responses={200: DETAIL, 400: DETAIL, 404: DETAIL, 409: DETAIL, 503: DETAIL},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        try:
            event = json.loads(request.body)
        except ValueError:
            return _answer("The body is not JSON.", status.HTTP_400_BAD_REQUEST)
        if not isinstance(event, dict):
            return _answer("The body is not a Viva Wallet event.", status.HTTP_400_BAD_REQUEST)
        if event.get("EventTypeId") != VIVA_TRANSACTION_PAYMENT_CREATED:
            return _answer(f"Ignored: event type {event.get('EventTypeId')!r} is not handled.")
        data = event.get("EventData")
        transaction_id = data.get("TransactionId") if isinstance(data, dict) else None
        if not is_transaction_id(transaction_id):
            return _answer(
                "EventData.TransactionId must be a Viva transaction id.",
                status.HTTP_400_BAD_REQUEST,
            )
        client = VivaClient.from_settings()
        if not client.can_read_transactions:
            return _answer(NOT_ENABLED.format("Viva Wallet"), status.HTTP_404_NOT_FOUND)
        try:
            transaction = client.transaction(str(transaction_id))
        except VivaError as error:
            return _answer(
                f"The payment could not be checked with Viva Wallet: {error}",
                status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        if transaction is None:
            logger.warning("Refused a Viva Wallet event: Viva does not know its transaction")
            return _answer(
                "Viva Wallet does not know this transaction; nothing was confirmed.",
                status.HTTP_400_BAD_REQUEST,
            )
        if transaction.status_id != SUCCESSFUL:
            return _answer(f"Ignored: Viva reports the transaction as {transaction.status_id!r}.")
        if not transaction.merchant_trns:
            return _answer("Ignored: the transaction has no merchantTrns naming an order.")
        if transaction.currency is None:
            return _answer(
                "The transaction's currency is not one we know.", status.HTTP_400_BAD_REQUEST
            )
        return confirm(
            VIVA_WALLET,
            transaction.transaction_id,
            transaction.merchant_trns,
            transaction.amount,
            transaction.currency,
        )
