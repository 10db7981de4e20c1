"""The kinds of incident, and the notification event types they send.

An incident of a kind is open at most once per location (deduplicated); it sends the
`opened` event type when it opens and the `resolved` one when it resolves.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    opened: str  # event type sent when it opens
    resolved: str  # event type sent when it resolves


REGISTER_DISCONNECTED = "register_disconnected"
ORDER_FAILED = "order_failed"
ORDER_WAITING = "order_waiting"
MENU_SYNC_FAILED = "menu_sync_failed"
MENU_SYNC_NEEDS_REVIEW = "menu_sync_needs_review"
CREDENTIALS_REJECTED = "credentials_rejected"

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            REGISTER_DISCONNECTED,
            "Register disconnected",
            "register.disconnected",
            "register.reconnected",
        ),
        Kind(ORDER_FAILED, "Orders failed", "order.failed", "order.failed"),
        Kind(
            ORDER_WAITING,
            "Orders waiting for the register",
            "order.waiting",
            "order.waiting",
        ),
        Kind(MENU_SYNC_FAILED, "Menu sync failed", "menu_sync.failed", "menu_sync.failed"),
        Kind(
            MENU_SYNC_NEEDS_REVIEW,
            "Menu sync held for review",
            "menu_sync.needs_review",
            "menu_sync.needs_review",
        ),
        Kind(
            CREDENTIALS_REJECTED,
            "Register refused our credentials",
            "credentials.rejected",
            "credentials.rejected",
        ),
    )
}

EVENT_TYPES: tuple[str, ...] = (
    "register.disconnected",
    "register.reconnected",
    "order.failed",
    "order.waiting",
    "menu_sync.failed",
    "menu_sync.needs_review",
    "credentials.rejected",
)
TEST_EVENT = "test"


def subscribed(events: list[str], kind: Kind) -> bool:
    """Whether a channel subscribed to `events` hears about incidents of `kind`.

    A channel hears both the opening and the resolution of an incident it subscribed to
    (by the opening or the resolution type).
    """
    return kind.opened in events or kind.resolved in events
