from django.urls import path

from orders import views

urlpatterns = [
    path(
        "locations/<str:location_id>/transactions",
        views.LocationTransactionsView.as_view(),
        name="location-transactions",
    ),
    path("transactions/<str:transaction_id>", views.TransactionView.as_view(), name="transaction"),
    path(
        "transactions/<str:transaction_id>/payment-confirmed",
        views.PaymentConfirmedView.as_view(),
        name="transaction-payment-confirmed",
    ),
    path(
        "transactions/<str:transaction_id>/retry-pos",
        views.RetryPosView.as_view(),
        name="transaction-retry-pos",
    ),
]
