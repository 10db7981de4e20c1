"""Item images: a local edit, uploaded by a user, checked with Pillow, stored with a thumbnail
through Django's storage API (``STORAGES["default"]``: the file system by default, an
S3-compatible bucket through django-storages in production).

JPEG, PNG or WebP, at most 5 MB; the file must open and decode as an image of that format
(its extension and declared type are not trusted). The item keeps ``image`` (the original's
URL), ``image_thumbnail`` (a copy at most 320 px on its longer side, same format) and
``image_files`` (their storage names, to delete them). A new upload replaces the old files.
Uploading and removing an image is an admin action (roles: admin).
"""

from __future__ import annotations

import io
import uuid
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, UnidentifiedImageError
from pymongo import ReturnDocument

from locations.repository import object_id
from menus.edits import EditError
from menus.repository import ItemRepository

__all__ = ["MAX_IMAGE_BYTES", "delete_item_image", "store_item_image"]

MAX_IMAGE_BYTES = 5 * 1024 * 1024
THUMBNAIL_SIZE = (320, 320)
FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
}
MAX_PIXELS = 40_000_000  # a decompression bomb is refused long before Pillow's own limit


def _refuse(message: str) -> EditError:
    return EditError({"image": [message]})


def _checked(data: bytes) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()  # structure and checksums
        image = Image.open(io.BytesIO(data))
        if image.format not in FORMATS:
            raise _refuse(
                f"Upload a JPEG, PNG or WebP image; this file is {image.format or 'unknown'}."
            )
        if image.width * image.height > MAX_PIXELS:
            raise _refuse(f"The image is too large ({image.width} x {image.height} pixels).")
        image.load()  # decodes every pixel: a truncated file fails here
    except EditError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _refuse("The file is not a readable JPEG, PNG or WebP image.") from None
    return image


def _thumbnail(image: Image.Image) -> bytes:
    thumb = image.copy()
    thumb.thumbnail(THUMBNAIL_SIZE)
    if image.format == "JPEG" and thumb.mode not in ("RGB", "L"):
        thumb = thumb.convert("RGB")
    out = io.BytesIO()
    thumb.save(out, format=image.format)
    return out.getvalue()


def _delete_files(item: dict[str, Any]) -> None:
    for name in item.get("image_files") or []:
        if default_storage.exists(name):
            default_storage.delete(name)


def store_item_image(location_id: str, item_id: str, upload: UploadedFile) -> dict[str, Any] | None:
    """Check and store ``upload`` as the item's image; None when the location has no such
    item, EditError (400) for a file that is too large or not an image."""
    oid = object_id(item_id)
    collection = ItemRepository().collection
    item = collection.find_one({"_id": oid, "location_id": location_id}) if oid else None
    if item is None:
        return None
    if upload.size is not None and upload.size > MAX_IMAGE_BYTES:
        raise _refuse("The image is larger than 5 MB; upload a smaller one.")
    data = upload.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise _refuse("The image is larger than 5 MB; upload a smaller one.")
    image = _checked(data)
    extension, _ = FORMATS[str(image.format)]
    stem = f"menu-images/{location_id}/{item_id}/{uuid.uuid4().hex}"
    original = default_storage.save(f"{stem}.{extension}", ContentFile(data))
    thumbnail = default_storage.save(f"{stem}-thumb.{extension}", ContentFile(_thumbnail(image)))
    updated = collection.find_one_and_update(
        {"_id": oid, "location_id": location_id},
        {
            "$set": {
                "image": default_storage.url(original),
                "image_thumbnail": default_storage.url(thumbnail),
                "image_files": [original, thumbnail],
            }
        },
        return_document=ReturnDocument.AFTER,
    )
    _delete_files(item)
    return updated


def delete_item_image(location_id: str, item_id: str) -> dict[str, Any] | None:
    """Remove the item's image and its files; None when the location has no such item."""
    oid = object_id(item_id)
    collection = ItemRepository().collection
    item = (
        collection.find_one_and_update(
            {"_id": oid, "location_id": location_id},
            {"$set": {"image": None, "image_thumbnail": None, "image_files": []}},
            return_document=ReturnDocument.BEFORE,
        )
        if oid
        else None
    )
    if item is None:
        return None
    _delete_files(item)
    return collection.find_one({"_id": oid})
