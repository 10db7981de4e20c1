"""Users, vendors and API tokens.

Tokens are django-rest-knox tokens (`accounts.models.ApiToken`): the database keeps only a
digest, every token expires (`API_TOKEN_TTL_DAYS`), and each grants one role
(`accounts.roles`). The plain token is returned once, when it is created.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounts.models import ApiToken, Vendor, VendorMembership
from accounts.roles import ADMIN, SERVICE_ROLES, VENDOR_ROLES, service_username


class AccountError(ValueError):
    """The request would change an account in a way that needs to be asked for explicitly."""


@dataclass(frozen=True)
class VendorUser:
    user: AbstractBaseUser
    vendor: Vendor
    token: str
    role: str = ADMIN
    expiry: datetime | None = None
    revoked: int = 0  # tokens of the user revoked because it moved to another vendor


@dataclass(frozen=True)
class ServiceToken:
    user: AbstractBaseUser
    role: str
    token: str
    expiry: datetime | None


def token_ttl(days: int | None = None) -> timedelta:
    return timedelta(days=settings.API_TOKEN_TTL_DAYS if days is None else days)


def issue_token(
    user: AbstractBaseUser, role: str, ttl: timedelta | None = None
) -> tuple[ApiToken, str]:
    """A new token of `role` for `user`, and its plain value (shown once, never stored)."""
    instance, plain = ApiToken.objects.create(user=user, expiry=ttl or token_ttl(), role=role)
    return instance, plain


@transaction.atomic
def ensure_vendor_user(
    username: str,
    vendor_name: str | None = None,
    password: str | None = None,
    *,
    role: str = ADMIN,
    move_vendor: bool = False,
    ttl: timedelta | None = None,
) -> VendorUser:
    """Create the user and its vendor as needed, and issue it a new token of `role`.

    An existing user keeps its vendor. When `vendor_name` names another vendor, it moves
    only with `move_vendor` (AccountError otherwise), and its existing tokens, issued for the
    old vendor, are revoked. A new user without `vendor_name` gets a vendor named after it.
    """
    if role not in VENDOR_ROLES:
        raise AccountError(f"A vendor user's token is admin or channel, not {role!r}.")
    if username in {service_username(r) for r in SERVICE_ROLES}:
        raise AccountError(f"{username} is the platform's service user; it has no vendor.")
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
    if not created and ApiToken.objects.filter(user=user, role__in=SERVICE_ROLES).exists():
        raise AccountError(f"{username} holds service tokens; it cannot belong to a vendor.")
    membership = VendorMembership.objects.filter(user=user).select_related("vendor").first()
    if vendor_name is None:
        vendor = membership.vendor if membership else Vendor.objects.get_or_create(name=username)[0]
    elif membership is not None and membership.vendor.name != vendor_name and not move_vendor:
        raise AccountError(
            f"User {username} belongs to vendor {membership.vendor.name}; "
            f"pass --move-vendor to move it to {vendor_name}."
        )
    else:
        vendor = Vendor.objects.get_or_create(name=vendor_name)[0]
    if password is not None:
        user.set_password(password)
        user.save(update_fields=["password"])
    elif created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    revoked = 0
    if membership is None:
        VendorMembership.objects.create(user=user, vendor=vendor)
    elif membership.vendor_id != vendor.pk:
        membership.vendor = vendor
        membership.save(update_fields=["vendor"])
        revoked, _ = ApiToken.objects.filter(user=user).delete()
    token, plain = issue_token(user, role, ttl)
    return VendorUser(
        user=user, vendor=vendor, token=plain, role=role, expiry=token.expiry, revoked=revoked
    )


@transaction.atomic
def create_service_token(role: str, ttl: timedelta | None = None) -> ServiceToken:
    """A new token for the platform's `support` or `payments` service user."""
    if role not in SERVICE_ROLES:
        raise AccountError(f"A service token is support or payments, not {role!r}.")
    user, created = get_user_model().objects.get_or_create(username=service_username(role))
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if VendorMembership.objects.filter(user=user).exists():
        raise AccountError(f"{user.get_username()} belongs to a vendor; remove it from it first.")
    token, plain = issue_token(user, role, ttl)
    return ServiceToken(user=user, role=role, token=plain, expiry=token.expiry)


def vendor_id_for(user: AbstractBaseUser) -> str | None:
    """The id of the user's vendor as stored on locations, or None if it has none."""
    membership = VendorMembership.objects.filter(user_id=user.pk).only("vendor_id").first()
    return str(membership.vendor_id) if membership else None
