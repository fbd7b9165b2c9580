"""Dashboard routes for an environment's API page and its keys."""

from django.urls import path
from django.views.generic import RedirectView

from apikeys import views

app_name = "apikeys"
urlpatterns = [
    path("environments/", views.environment_list, name="environment-list"),
    # An environment's own address opens its first tab, the API page (which checks who may see it).
    path("environments/<int:environment_id>/", RedirectView.as_view(pattern_name="apikeys:list")),
    path("environments/<int:environment_id>/api/", views.key_list, name="list"),
    path("environments/<int:environment_id>/api/keys/add/", views.key_create, name="create"),
    path("environments/<int:environment_id>/api/keys/<int:key_id>/edit/", views.key_edit, name="edit"),
    path(
        "environments/<int:environment_id>/api/keys/<int:key_id>/deactivate/", views.key_deactivate, name="deactivate"
    ),
    path("environments/<int:environment_id>/api/keys/<int:key_id>/activate/", views.key_activate, name="activate"),
    path("environments/<int:environment_id>/api/keys/<int:key_id>/delete/", views.key_delete, name="delete"),
]
