"""Signals of the orders app (sent with `send_robust`: a failing receiver never breaks a push).

`push_failed(sender, transaction, code, message)`: an order's push ended `failed` (a total
mismatch, a permanent register error, no free table...); `transaction` is the
`orders.repository.Transaction` after the transition. The incidents app listens to it.

`push_paid(sender, transaction)`: the order is paid on the register.
`push_held(sender, transaction)`: the order is kept with `need_requeue` (register unreachable).
Both feed the metrics (`upvendo.metrics`).
"""

from django.dispatch import Signal

push_failed = Signal()
push_paid = Signal()
push_held = Signal()
