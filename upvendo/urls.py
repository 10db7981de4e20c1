from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from upvendo.health import healthz

# In production the schema needs a login (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]: 401
# without one) and so does its docs page (a browser is sent to the login page).
api_docs = SpectacularSwaggerView.as_view(url_name="schema")
if settings.PRODUCTION:
    api_docs = login_required(api_docs)

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/backoffice/", include("tables.urls")),
    path("api/backoffice/", include("locations.urls")),
    path("api/backoffice/", include("integrations.urls")),
    path("api/backoffice/", include("menus.urls")),
    path("api/backoffice/", include("orders.urls")),
    path("api/webhooks/", include("orders.webhook_urls")),
    path("api/docs/", api_docs, name="api-docs"),
    path("", include("backoffice.urls")),
]
