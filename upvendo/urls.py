from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from incidents.support_urls import api_urlpatterns as support_api
from incidents.support_urls import page_urlpatterns as support_pages
from upvendo.health import healthz
from upvendo.metrics import metrics_view

# In production the schema needs a login (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]: 401
# without one) and so does its docs page (a browser is sent to the login page).
api_docs = SpectacularSwaggerView.as_view(url_name="schema")
if settings.PRODUCTION:
    api_docs = login_required(api_docs)

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/backoffice/", include("tables.urls")),
    path("api/backoffice/", include("locations.urls")),
    path("api/backoffice/", include("integrations.urls")),
    path("api/backoffice/", include("menus.urls")),
    path("api/backoffice/", include("orders.urls")),
    path("api/backoffice/", include("incidents.urls")),
    path("api/support/", include(support_api)),
    *support_pages,
    path("api/webhooks/", include("orders.webhook_urls")),
    path("api/docs/", api_docs, name="api-docs"),
    path("", include("backoffice.urls")),
    # Uploaded menu images from the file system storage (DEBUG only; a no-op otherwise).
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
]
