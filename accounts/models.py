"""Vendors (restaurant operators), which users belong to them, and API tokens.

Users and their tokens live in Django's database; a vendor's locations live in MongoDB and
point to the vendor by `vendor_id` (the `Vendor.pk` as a string).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from knox.models import AbstractAuthToken

from accounts.roles import ROLE_CHOICES


class Vendor(models.Model):
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class VendorMembership(models.Model):
    """A user belongs to exactly one vendor and may act on that vendor's locations."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vendor_membership"
    )
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.vendor}"


class ApiToken(AbstractAuthToken):
    """A knox token (only its SHA-512 digest is stored; it expires) with the role it grants."""

    role = models.CharField(max_length=16, choices=ROLE_CHOICES)

    class Meta:
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.token_key}… {self.role} of {self.user}"
