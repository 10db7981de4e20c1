"""QR codes for table ordering: one SVG per table, a ZIP of them, and a printable A4 PDF.

Every table's code encodes `settings.TABLE_ORDERING_URL` formatted with the location id and
the table number. The PDF draws each code as vector rectangles from segno's module matrix, so
it prints sharp at any size.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Iterator

import segno
from django.conf import settings
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from tables.repository import Table, TableSection

# Error correction "M" survives ~15 % damage (a sauce stain); 4 modules of quiet zone is the
# standard's minimum; 8 px per module gives a ~300 px image for a typical URL.
ERROR_CORRECTION = "m"
QUIET_ZONE_MODULES = 4
SVG_SCALE = 8

PDF_COLUMNS = 2
PDF_ROWS = 3
PDF_PER_PAGE = PDF_COLUMNS * PDF_ROWS
PDF_MARGIN = 15 * mm
PDF_HEADER = 15 * mm
PDF_QR_SIZE = 60 * mm  # includes the quiet zone
PDF_LABEL_FONT = ("Helvetica-Bold", 16)
PDF_SUBLABEL_FONT = ("Helvetica", 10)


def table_url(location_id: str, table_number: int) -> str:
    return settings.TABLE_ORDERING_URL.format(location_id=location_id, table_number=table_number)


def make_qr(url: str) -> segno.QRCode:
    return segno.make(url, error=ERROR_CORRECTION, micro=False)


def qr_svg(url: str) -> bytes:
    """A standalone SVG document of the URL's QR code, quiet zone included."""
    out = io.BytesIO()
    make_qr(url).save(
        out,
        kind="svg",
        scale=SVG_SCALE,
        border=QUIET_ZONE_MODULES,
        xmldecl=True,
        title=url,
        svgclass=None,
        lineclass=None,
    )
    return out.getvalue()


def svg_filename(table: Table) -> str:
    return f"table-{table.number}.svg"


def qr_zip(section: TableSection) -> bytes:
    """A ZIP with one `table-<n>.svg` per table of the section (byte-for-byte reproducible)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in section.tables:
            # A fixed date keeps the archive identical for identical sections.
            info = zipfile.ZipInfo(svg_filename(table), date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, qr_svg(table_url(section.location_id, table.number)))
    return out.getvalue()


def pdf_page_count(section: TableSection) -> int:
    return max(1, math.ceil(len(section.tables) / PDF_PER_PAGE))


def qr_pdf(section: TableSection, location_name: str) -> bytes:
    """A printable A4 PDF: 2 x 3 labelled QR codes per page, drawn as vectors.

    A section without tables still gets one page that says so.
    """
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=True)
    canvas.setTitle(f"{location_name} - {section.name}")
    canvas.setAuthor("upvendo")
    pages = pdf_page_count(section)
    for page in range(pages):
        _draw_header(canvas, section, location_name, page + 1, pages)
        chunk = section.tables[page * PDF_PER_PAGE : (page + 1) * PDF_PER_PAGE]
        if not chunk:
            canvas.setFont(*PDF_SUBLABEL_FONT)
            canvas.drawCentredString(A4[0] / 2, A4[1] / 2, "This section has no tables.")
        for slot, table in enumerate(chunk):
            _draw_table(canvas, section.location_id, table, slot)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def _draw_header(
    canvas: Canvas, section: TableSection, location_name: str, page: int, pages: int
) -> None:
    width, height = A4
    canvas.setFont("Helvetica-Bold", 12)
    canvas.drawString(PDF_MARGIN, height - PDF_MARGIN, f"{location_name} - {section.name}")
    canvas.setFont("Helvetica", 9)
    canvas.drawRightString(width - PDF_MARGIN, height - PDF_MARGIN, f"Page {page} of {pages}")


def _draw_table(canvas: Canvas, location_id: str, table: Table, slot: int) -> None:
    """Draw one table's code and label in its cell of the 2 x 3 grid (slot 0 is top left)."""
    width, height = A4
    cell_width = (width - 2 * PDF_MARGIN) / PDF_COLUMNS
    cell_height = (height - 2 * PDF_MARGIN - PDF_HEADER) / PDF_ROWS
    column, row = slot % PDF_COLUMNS, slot // PDF_COLUMNS
    cell_left = PDF_MARGIN + column * cell_width
    cell_top = height - PDF_MARGIN - PDF_HEADER - row * cell_height
    centre_x = cell_left + cell_width / 2
    qr_bottom = cell_top - PDF_QR_SIZE
    _draw_qr(canvas, make_qr(table_url(location_id, table.number)), centre_x, qr_bottom)

    canvas.setFont(*PDF_LABEL_FONT)
    canvas.drawCentredString(centre_x, qr_bottom - 8 * mm, table_label(table))
    if table.name != str(table.number):
        canvas.setFont(*PDF_SUBLABEL_FONT)
        canvas.drawCentredString(centre_x, qr_bottom - 14 * mm, f"Table {table.number}")


def table_label(table: Table) -> str:
    """The printed label: the POS's name, or "Table <n>" when the name is just the number."""
    return f"Table {table.number}" if table.name == str(table.number) else table.name


def _draw_qr(canvas: Canvas, qr: segno.QRCode, centre_x: float, bottom: float) -> None:
    """Fill one rectangle per horizontal run of dark modules, in a single path."""
    modules = len(qr.matrix) + 2 * QUIET_ZONE_MODULES
    module = PDF_QR_SIZE / modules
    left = centre_x - PDF_QR_SIZE / 2
    top = bottom + PDF_QR_SIZE
    path = canvas.beginPath()
    for y, x, length in dark_runs(qr):
        path.rect(
            left + (x + QUIET_ZONE_MODULES) * module,
            top - (y + QUIET_ZONE_MODULES + 1) * module,
            length * module,
            module,
        )
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)


def dark_runs(qr: segno.QRCode) -> Iterator[tuple[int, int, int]]:
    """(row, first column, length) of each horizontal run of dark modules, border excluded."""
    for y, row in enumerate(qr.matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                yield y, start, x - start
            else:
                x += 1
