from django.urls import path

from orders import webhooks

urlpatterns = [
    path("stripe", webhooks.StripeWebhookView.as_view(), name="webhook-stripe"),
    path("viva-wallet", webhooks.VivaWalletWebhookView.as_view(), name="webhook-viva-wallet"),
]
