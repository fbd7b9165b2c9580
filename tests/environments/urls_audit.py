"""URLs for the audit tests: the project's URLs plus the audit log page, until config.urls includes it."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *project_urlpatterns,
    path("", include("environments.urls_events")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
]
