from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from backoffice.views import menu_items_page, provider_page
from integrations.providers import PROVIDERS

urlpatterns = [
    path("", RedirectView.as_view(url=f"/{PROVIDERS[0]}"), name="backoffice-home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="backoffice/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("menus/items", menu_items_page, name="backoffice-menu-items"),
    *[
        path(provider, provider_page, {"provider": provider}, name=f"backoffice-{provider}")
        for provider in PROVIDERS
    ],
]
