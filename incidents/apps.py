from typing import Any

from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    """Incidents, notification channels and readiness (docs/operations.md).

    Detection hooks onto the signals of the integrations and orders apps; the time-based
    kinds are checked by `CheckIncidentsJob` (incidents/schedules.py).
    """

    name = "incidents"

    def ready(self) -> None:
        from incidents import detection
        from integrations import signals as integration_signals
        from orders import signals as order_signals

        hooks: list[tuple[Any, Any]] = [
            (integration_signals.connection_changed, detection.on_connection_changed),
            (integration_signals.sync_finished, detection.on_sync_finished),
            (integration_signals.register_error, detection.on_register_error),
            (order_signals.push_failed, detection.on_push_failed),
        ]
        for signal, receiver in hooks:
            signal.connect(receiver, dispatch_uid=f"incidents.{receiver.__name__}")

        # The Prometheus metrics (upvendo/metrics.py) count the same events.
        from upvendo import metrics

        for signal, receiver in [
            (order_signals.push_paid, metrics.on_push_paid),
            (order_signals.push_failed, metrics.on_push_failed),
            (order_signals.push_held, metrics.on_push_held),
            (integration_signals.sync_finished, metrics.on_sync_finished),
        ]:
            signal.connect(receiver, dispatch_uid=f"metrics.{receiver.__name__}")
