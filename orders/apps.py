from typing import Any

from django.apps import AppConfig


def _requeue_on_connection_restored(sender: Any, integration_id: str, **kwargs: Any) -> None:
    from orders.services import requeue_orders

    requeue_orders(integration_id)


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from integrations.signals import connection_restored

        connection_restored.connect(
            _requeue_on_connection_restored, dispatch_uid="orders.requeue_orders"
        )
