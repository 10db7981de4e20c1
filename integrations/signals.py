"""Signals of the integrations app.

`connection_restored(sender, integration_id)`: a connection test succeeded while the
integration was marked disconnected (the orders app re-queues the orders it kept with
`need_requeue`). `sender` is the service class that ran the test.

The three below are sent with `send_robust` (a failing receiver never breaks the caller) and
are what the incidents app (docs/operations.md) listens to:

`connection_changed(sender, integration_id, location_id, provider, status, previous, message)`:
every `IntegrationRepository.set_connection`, with the status before and after (a repeat of
the same status is sent too).

`sync_finished(sender, integration_id, status, message, details)`: a menu import finished
(`success` or `error`), from `IntegrationRepository.finish_sync`.

`register_error(sender, integration_id, error)`: a call to the register raised a
`kassanet.KassanetError` (connection test, order push); `error.status_code` 401 means the
register refused our credentials.
"""

from django.dispatch import Signal

connection_restored = Signal()
connection_changed = Signal()
sync_finished = Signal()
register_error = Signal()
