"""Django admin: API tokens can be looked at and revoked (deleted), never created or edited;
`create_api_token` and `create_service_token` issue them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from knox.models import AuthToken

from accounts.models import ApiToken

# knox registers its own model, which ApiToken replaces (KNOX_TOKEN_MODEL).
if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("token_key", "user", "role", "created", "expiry")
    list_filter = ("role",)
    search_fields = ("token_key", "user__username")
    fields = ("token_key", "user", "role", "created", "expiry")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
