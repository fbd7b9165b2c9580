"""Dashboard routes for environments and their members."""

from django.urls import path

from environments import views

app_name = "environments"
urlpatterns = [
    path("", views.home, name="home"),
    path("environments/add/", views.environment_create, name="create"),
    path("environments/switch/", views.switch_environment, name="switch"),
    path("environments/<int:environment_id>/edit/", views.environment_edit, name="edit"),
    path("environments/<int:environment_id>/delete/", views.environment_delete, name="delete"),
    path("environments/<int:environment_id>/members/", views.members, name="members"),
    path("environments/<int:environment_id>/events/", views.events, name="events"),
    path("environments/<int:environment_id>/members/groups/", views.group_mapping_add, name="group-add"),
    path(
        "environments/<int:environment_id>/members/groups/<int:mapping_id>/remove/",
        views.group_mapping_remove,
        name="group-remove",
    ),
    path("environments/<int:environment_id>/members/<int:membership_id>/role/", views.member_role, name="member-role"),
    path(
        "environments/<int:environment_id>/members/<int:membership_id>/remove/",
        views.member_remove,
        name="member-remove",
    ),
]
