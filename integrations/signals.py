"""Signals of the integrations app.

`connection_restored(sender, integration_id)`: a connection test succeeded while the
integration was marked disconnected (the orders app re-queues the orders it kept with
`need_requeue`). `sender` is the service class that ran the test.
"""

from django.dispatch import Signal

connection_restored = Signal()
