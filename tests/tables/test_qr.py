"""QR codes: SVG per table, the ZIP of them and the printable PDF."""

from __future__ import annotations

import base64
import io
import re
import zipfile
import zlib
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

import pytest
import segno

from tables.qr import qr_pdf, qr_svg, qr_zip, table_url
from tables.repository import Table, TableSection

SVG = "{http://www.w3.org/2000/svg}"
LOCATION = "65f000000000000000000001"
NOW = datetime(2025, 3, 1, tzinfo=UTC)


def section_with(tables: list[Table]) -> TableSection:
    return TableSection(
        id="65f0000000000000000000aa",
        location_id=LOCATION,
        name="Hendrickx tables",
        imported_by="hendrickx",
        protected=True,
        tables=tuple(tables),
        created_at=NOW,
        updated_at=NOW,
    )


def modules_from_svg(svg: bytes) -> tuple[int, set[tuple[int, int]]]:
    """(side in modules, dark modules as (row, column)) read back from a segno SVG path.

    The path draws each run of dark modules as a horizontal line half a module below the
    row's top: `M x y` / `m dx dy` move the pen, `h n` draws n modules to the right.
    """
    root = ElementTree.fromstring(svg)
    path = root.find(f"{SVG}path")
    assert path is not None
    scale = int(re.fullmatch(r"scale\((\d+)\)", path.attrib["transform"])[1])  # type: ignore[index]
    side = int(root.attrib["width"]) // scale
    assert int(root.attrib["height"]) == side * scale
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for command, args in re.findall(r"([MmHh])([-\d. ]+)", path.attrib["d"]):
        numbers = [float(n) for n in args.split()]
        if command == "M":
            x, y = numbers
        elif command == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            for column in range(int(x), int(x + numbers[0])):
                dark.add((int(y - 0.5), column))
            x += numbers[0]
    return side, dark


def expected_modules(url: str, border: int) -> tuple[int, set[tuple[int, int]]]:
    matrix = segno.make(url, error="m", micro=False).matrix
    dark = {
        (row + border, column + border)
        for row, line in enumerate(matrix)
        for column, value in enumerate(line)
        if value
    }
    return len(matrix) + 2 * border, dark


def test_table_url_formats_the_setting(settings: Any) -> None:
    settings.TABLE_ORDERING_URL = "https://order.test/{location_id}/tables/{table_number}"

    assert table_url(LOCATION, 12) == f"https://order.test/{LOCATION}/tables/12"


def test_svg_encodes_the_url_with_a_four_module_quiet_zone() -> None:
    url = "https://order.test/l/abc/t/7"

    svg = qr_svg(url)

    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.findtext(f"{SVG}title") == url
    assert modules_from_svg(svg) == expected_modules(url, border=4)
    side, _ = expected_modules(url, border=4)
    assert int(root.attrib["width"]) == side * 8


def test_zip_holds_one_svg_per_table_encoding_its_url(settings: Any) -> None:
    settings.TABLE_ORDERING_URL = "https://order.test/l/{location_id}/t/{table_number}"
    section = section_with([Table(1, "1"), Table(2, "Bar"), Table(15, "15")])

    archive = zipfile.ZipFile(io.BytesIO(qr_zip(section)))

    assert archive.namelist() == ["table-1.svg", "table-2.svg", "table-15.svg"]
    assert archive.testzip() is None
    for number in (1, 2, 15):
        url = f"https://order.test/l/{LOCATION}/t/{number}"
        assert modules_from_svg(archive.read(f"table-{number}.svg")) == expected_modules(
            url, border=4
        )


def test_zip_of_the_same_section_is_identical_bytes() -> None:
    section = section_with([Table(1, "1")])

    assert qr_zip(section) == qr_zip(section)


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


@pytest.mark.parametrize(
    ("table_count", "pages"), [(0, 1), (1, 1), (6, 1), (7, 2), (12, 2), (13, 3)]
)
def test_pdf_has_six_codes_per_a4_page(table_count: int, pages: int) -> None:
    section = section_with([Table(n, str(n)) for n in range(1, table_count + 1)])

    pdf = qr_pdf(section, "Brasserie Centraal")

    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert page_count(pdf) == pages
    assert (
        re.findall(rb"/MediaBox \[ 0 0 ([\d.]+) ([\d.]+) \]", pdf)
        == [(b"595.2756", b"841.8898")] * pages
    )


def test_pdf_draws_codes_as_vectors_not_images() -> None:
    pdf = qr_pdf(section_with([Table(1, "1"), Table(2, "Bar")]), "Brasserie Centraal")

    assert b"/Subtype /Image" not in pdf
    assert b"/XObject" not in pdf


def page_contents(pdf: bytes) -> list[bytes]:
    """Each content stream, decoded (reportlab writes ASCII85 over Flate)."""
    streams = re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S)
    decoded = [
        zlib.decompress(base64.a85decode(raw, adobe=True, ignorechars=b" \t\n\r\v"))
        for raw in streams
    ]
    return [content for content in decoded if b" Tj" in content]


def dark_modules_of_drawn_codes(content: bytes) -> list[set[tuple[int, int]]]:
    """The dark modules of each QR path on a page, read back from its `re` rectangles."""
    codes = []
    for path in re.findall(rb"\bn ((?:[\d.]+ [\d.]+ [\d.]+ [\d.]+ re\s)+)f", content):
        rects = [
            tuple(map(float, r))
            for r in re.findall(rb"([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) re", path)
        ]
        module = rects[0][3]
        left = min(x for x, _, _, _ in rects)
        top = max(y + h for _, y, _, h in rects)
        dark: set[tuple[int, int]] = set()
        for x, y, w, _ in rects:
            row = round((top - y) / module) - 1
            first = round((x - left) / module)
            dark.update((row, column) for column in range(first, first + round(w / module)))
        codes.append(dark)
    return codes


def test_pdf_draws_each_tables_code_and_label(settings: Any) -> None:
    settings.TABLE_ORDERING_URL = "https://order.test/l/{location_id}/t/{table_number}"
    section = section_with([Table(1, "1"), Table(2, "Bar")])

    pages = page_contents(qr_pdf(section, "Brasserie Centraal"))

    assert len(pages) == 1
    assert re.findall(rb"\((.*?)\) Tj", pages[0]) == [
        b"Brasserie Centraal - Hendrickx tables",
        b"Page 1 of 1",
        b"Table 1",
        b"Bar",
        b"Table 2",
    ]
    assert dark_modules_of_drawn_codes(pages[0]) == [
        expected_modules(f"https://order.test/l/{LOCATION}/t/{number}", border=0)[1]
        for number in (1, 2)
    ]
