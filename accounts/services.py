"""Users, vendors and API tokens."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts.models import Vendor, VendorMembership


@dataclass(frozen=True)
class VendorUser:
    user: AbstractBaseUser
    vendor: Vendor
    token: str


@transaction.atomic
def ensure_vendor_user(
    username: str, vendor_name: str | None = None, password: str | None = None
) -> VendorUser:
    """Create the user, its vendor and its API token as needed; return them.

    An existing user keeps its vendor unless `vendor_name` names another one, in which case it
    moves to that vendor (created if needed). A new user without `vendor_name` gets a vendor
    named after it.
    """
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
    if password is not None:
        user.set_password(password)
        user.save(update_fields=["password"])
    elif created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    membership = VendorMembership.objects.filter(user=user).select_related("vendor").first()
    if vendor_name is None:
        vendor = membership.vendor if membership else Vendor.objects.get_or_create(name=username)[0]
    else:
        vendor = Vendor.objects.get_or_create(name=vendor_name)[0]
    if membership is None:
        VendorMembership.objects.create(user=user, vendor=vendor)
    elif membership.vendor_id != vendor.pk:
        membership.vendor = vendor
        membership.save(update_fields=["vendor"])
    token, _ = Token.objects.get_or_create(user=user)
    return VendorUser(user=user, vendor=vendor, token=token.key)


def vendor_id_for(user: AbstractBaseUser) -> str | None:
    """The id of the user's vendor as stored on locations, or None if it has none."""
    membership = VendorMembership.objects.filter(user_id=user.pk).only("vendor_id").first()
    return str(membership.vendor_id) if membership else None
