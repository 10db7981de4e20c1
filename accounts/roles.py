"""The roles an API caller acts in, and what each may do (docs/security.md).

- `admin`: a vendor's staff: integrations, credentials, menu edits, and everything below for
  its own vendor. A logged-in backoffice page user acts as `admin` of its vendor.
- `channel`: a kiosk or webshop device of a vendor: reads the menu, creates orders and reads
  their readiness (the order and the register's connection).
- `support`: platform staff: reads every vendor's data (secrets stay masked), retries orders.
- `payments`: the platform's payment service: confirms payments, nothing else.

A token carries exactly one role. `admin` and `channel` tokens belong to a vendor's user;
`support` and `payments` tokens belong to a service user of the platform and no vendor.
"""

from __future__ import annotations

ADMIN = "admin"
CHANNEL = "channel"
SUPPORT = "support"
PAYMENTS = "payments"

VENDOR_ROLES = (ADMIN, CHANNEL)
SERVICE_ROLES = (SUPPORT, PAYMENTS)
ROLES = VENDOR_ROLES + SERVICE_ROLES
ROLE_CHOICES = [(role, role) for role in ROLES]

# Roles that see every vendor's locations and orders.
CROSS_VENDOR_ROLES = (SUPPORT, PAYMENTS)


def service_username(role: str) -> str:
    """The platform user that holds the service tokens of `role`."""
    return f"service-{role}"
