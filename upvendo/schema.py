"""The OpenAPI generator: each operation also states the roles it allows.

`security` lists the accepted credentials (a knox token or the page session). The roles
that a token must have (`accounts.roles`) are in the operation's description and in the
`x-roles` extension; a token with another role gets 403. Webhooks have no token
(`security: []`): their description says how each request is verified instead.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from accounts.api import RolePermission
from accounts.roles import ADMIN

SESSION_SCHEME = "cookieAuth"


class AutoSchema(SpectacularAutoSchema):
    def operation_roles(self) -> tuple[str, ...] | None:
        for permission in self.view.get_permissions():
            if isinstance(permission, RolePermission):
                return permission.roles_for(self.method)
        return None

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        roles = self.operation_roles()
        if roles is None:
            if not self.view.get_authenticators():
                operation["security"] = []
            return operation
        line = f"Roles: {', '.join(roles)} (a token with another role gets 403)."
        description = operation.get("description")
        operation["description"] = f"{description}\n\n{line}" if description else line
        operation["x-roles"] = list(roles)
        if ADMIN not in roles:  # a page session acts as admin: only a token can call it
            operation["security"] = [
                r for r in operation.get("security", []) if SESSION_SCHEME not in r
            ]
        return operation
