"""URL wiring: the dashboard, sign-in, the Django admin and the REST API under /api/v1/."""

from django.contrib import admin
from django.contrib.auth.views import LoginView, LogoutView
from django.urls import include, path, re_path

from common import probes
from common.api.errors import not_found
from environments import oidc
from environments.auth_forms import AdminSignInForm, SignInForm

# The admin's sign-in says "try again in N minutes" too when over the failed sign-in limit.
admin.site.login_form = AdminSignInForm

urlpatterns = [
    # Probes and metrics for operators (no authentication, never throttled): docs/deployment.md.
    path("healthz", probes.healthz, name="healthz"),
    path("readyz", probes.readyz, name="readyz"),
    path("metrics", probes.metrics_view, name="metrics"),
    # Before any include("django.contrib.auth.urls"), so that this sign-in view wins.
    path("accounts/login/", LoginView.as_view(authentication_form=SignInForm), name="login"),
    # OpenID Connect sign-in (404 unless OIDC_ISSUER is set); the callback is the redirect URI to register.
    path("oidc/authenticate/", oidc.SignInRequestView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc.SignInCallbackView.as_view(), name="oidc_authentication_callback"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_router", namespace="api")),
    path("api/auth/", include("rest_framework.urls")),
    # Only sign-out from django.contrib.auth: no password reset or change pages (no e-mail is set up).
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("", include("environments.urls")),
    path("", include("apikeys.urls")),
    # Last: every other URL under /api/ is a JSON 404, even with DEBUG on.
    re_path(r"^api/", not_found, name="not-found"),
]

handler400 = "common.api.errors.handler400"
handler403 = "common.api.errors.handler403"
handler404 = "common.api.errors.handler404"
handler500 = "common.api.errors.handler500"
