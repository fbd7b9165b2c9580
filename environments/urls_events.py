"""Dashboard URL of an environment's audit log (included by config.urls)."""

from django.urls import path

from environments.views_events import environment_events

urlpatterns = [
    path("environments/<int:pk>/events/", environment_events, name="environment-events"),
]
