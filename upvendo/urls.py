from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from upvendo.health import healthz

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
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("backoffice.urls")),
]
