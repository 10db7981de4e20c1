from django.urls import path

from tables import views

SECTIONS = "locations/<str:location_id>/table-sections"

urlpatterns = [
    path(SECTIONS, views.TableSectionListView.as_view(), name="table-sections"),
    path(
        f"{SECTIONS}/<str:section_id>",
        views.TableSectionDetailView.as_view(),
        name="table-section",
    ),
    path(
        f"{SECTIONS}/<str:section_id>/qr.zip",
        views.TableSectionQrZipView.as_view(),
        name="table-section-qr-zip",
    ),
    path(
        f"{SECTIONS}/<str:section_id>/qr.pdf",
        views.TableSectionQrPdfView.as_view(),
        name="table-section-qr-pdf",
    ),
]
