"""URL wiring: the dashboard, sign-in, the Django admin and the REST API under /api/v1/."""

from django.contrib import admin
from django.urls import include, path, re_path

from config.api import not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_router", namespace="api")),
    path("api/auth/", include("rest_framework.urls")),
    # Last: every other URL under /api/ is a JSON 404, even with DEBUG on.
    re_path(r"^api/", not_found, name="not-found"),
]

handler400 = "config.api.handler400"
handler403 = "config.api.handler403"
handler404 = "config.api.handler404"
handler500 = "config.api.handler500"
