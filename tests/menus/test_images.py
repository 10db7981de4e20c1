"""Item images: checked with Pillow, stored with a thumbnail through Django's storage API (the
file system, in a temporary MEDIA_ROOT), kept by re-imports."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pymongo.database import Database
from rest_framework.test import APIClient

from accounts.services import VendorUser
from integrations.repository import Integration
from integrations.services import get_service
from kassanet.testing import SimulatorHandle
from locations.repository import Location
from tests.menus.support import by_external_id, connect, edit_catalog, product


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def integration(location: Location, sim: SimulatorHandle) -> Integration:
    connected = connect(location, sim)
    assert get_service("hendrickx").import_menu_now(connected)["status"] == "success"
    return connected


@pytest.fixture
def api(alice: VendorUser) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {alice.token}")
    return client


def picture(fmt: str, size: tuple[int, int] = (800, 400), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 40, 40) if mode == "RGB" else None).save(out, format=fmt)
    return out.getvalue()


def upload(api: APIClient, url: str, data: bytes, name: str = "photo.jpg") -> Any:
    return api.put(url, {"image": SimpleUploadedFile(name, data)}, format="multipart")


@pytest.mark.parametrize(("fmt", "extension"), [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp")])
def test_an_image_is_stored_with_a_thumbnail_and_survives_a_reimport(
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
    media: Path,
    fmt: str,
    extension: str,
) -> None:
    item = by_external_id(indexed_db, "items", location.id)["P1"]
    url = f"/api/backoffice/locations/{location.id}/items/{item['_id']}/image"

    response = upload(api, url, picture(fmt), name="whatever.bin")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["image"].startswith("/media/menu-images/") and body["image"].endswith(
        f".{extension}"
    )
    stored = by_external_id(indexed_db, "items", location.id)["P1"]
    original, thumbnail = (media / name for name in stored["image_files"])
    with Image.open(original) as full, Image.open(thumbnail) as thumb:
        assert (full.format, full.size) == (fmt, (800, 400))
        assert (thumb.format, thumb.size) == (fmt, (320, 160))
    edit_catalog(sim, lambda c: product(c, "P1").update(price="15.00"))
    assert get_service("hendrickx").import_menu_now(integration)["status"] == "success"
    kept = by_external_id(indexed_db, "items", location.id)["P1"]
    assert (kept["image"], kept["image_thumbnail"]) == (body["image"], body["image_thumbnail"])

    # A new image replaces the files; DELETE removes them.
    second = upload(api, url, picture("PNG", (100, 100))).json()
    assert not original.exists() and not thumbnail.exists()
    assert second["image"].endswith(".png")
    removed = api.delete(url)
    assert removed.status_code == 200
    assert (removed.json()["image"], removed.json()["image_thumbnail"]) == (None, None)
    assert list(media.rglob("*.*")) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a not really", "The file is not a readable JPEG, PNG or WebP image."),
        (picture("GIF"), "Upload a JPEG, PNG or WebP image; this file is GIF."),
        (picture("PNG")[:200], "The file is not a readable JPEG, PNG or WebP image."),
        (b"\xff" * (5 * 1024 * 1024 + 1), "The image is larger than 5 MB; upload a smaller one."),
    ],
)
def test_a_file_that_is_not_an_allowed_image_is_refused_and_nothing_is_stored(
    api: APIClient,
    location: Location,
    integration: Integration,
    indexed_db: Database[dict[str, Any]],
    media: Path,
    data: bytes,
    message: str,
) -> None:
    item = by_external_id(indexed_db, "items", location.id)["P1"]
    url = f"/api/backoffice/locations/{location.id}/items/{item['_id']}/image"

    response = upload(api, url, data)

    assert response.status_code == 400
    assert response.json() == {"image": [message]}
    assert by_external_id(indexed_db, "items", location.id)["P1"]["image"] is None
    assert not media.exists() or list(media.rglob("*.*")) == []


def test_an_upload_without_a_file_or_for_an_unknown_item(
    api: APIClient, location: Location, integration: Integration
) -> None:
    missing = api.put(
        f"/api/backoffice/locations/{location.id}/items/{'0' * 24}/image",
        {"image": SimpleUploadedFile("a.png", picture("PNG"))},
        format="multipart",
    )
    no_file = api.put(
        f"/api/backoffice/locations/{location.id}/items/{'0' * 24}/image", {}, format="multipart"
    )

    assert missing.status_code == 404
    assert no_file.json() == {"image": ["Attach the image file as the form field 'image'."]}
