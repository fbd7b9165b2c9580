"""Django admin for environments and memberships: every change goes through environments.services."""

from django import forms
from django.contrib import admin, messages

from config.client import client_address
from environments import audit, services
from environments.exceptions import DomainError
from environments.models import AuditEvent, Environment, Membership


class MembershipInline(admin.TabularInline):
    """Members, shown read-only here: change them on the Memberships page, which keeps an owner."""

    model = Membership
    fields = ["user", "role", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    """Environments with their members."""

    list_display = ["name", "description", "created_at"]
    search_fields = ["name", "description"]
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        if change:
            services.update_environment(
                environment=obj,
                name=obj.name,
                description=obj.description,
                actor=request.user,
                address=client_address(request),
            )
            return
        created = services.create_environment(
            name=obj.name,
            description=obj.description,
            owner=request.user,
            actor=request.user,
            address=client_address(request),
        )
        obj.pk, obj.created_at = created.pk, created.created_at
        obj._state.adding = False

    def get_deleted_objects(self, objs, request):
        """List what goes with the environments, without the rules that guard members and keys alone.

        "Keep one owner" and "delete only inactive keys" protect a membership or a key from being
        deleted on its own; when its environment goes, it goes too (as through the API).
        """
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        cascaded = {str(relation.related_model._meta.verbose_name) for relation in Environment._meta.related_objects}
        return deleted, counts, {name for name in perms_needed if str(name) not in cascaded}, protected

    def delete_model(self, request, obj):
        services.delete_environment(environment=obj, actor=request.user, address=client_address(request))

    def delete_queryset(self, request, queryset):
        for environment in queryset:
            services.delete_environment(environment=environment, actor=request.user, address=client_address(request))


class MembershipForm(forms.ModelForm):
    """Refuses, next to the field, a role change that would leave the environment without an owner."""

    class Meta:
        model = Membership
        fields = ["environment", "user", "role"]

    def clean_role(self):
        role = self.cleaned_data["role"]
        if self.instance.pk:
            try:
                services.ensure_keeps_an_owner(membership=Membership.objects.get(pk=self.instance.pk), new_role=role)
            except DomainError as exc:
                raise forms.ValidationError(exc.message) from exc
        return role


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Memberships: adding, re-roling and removing go through the services that keep an owner."""

    form = MembershipForm
    list_display = ["user", "environment", "role", "created_at"]
    list_filter = ["role", "environment"]
    search_fields = ["user__username", "environment__name"]
    list_select_related = ["user", "environment"]
    actions = ["remove_members"]

    def get_readonly_fields(self, request, obj=None):
        return ["environment", "user"] if obj else []

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        if obj is None:
            return True
        try:
            services.ensure_keeps_an_owner(membership=obj, new_role=None)
        except DomainError:
            return False
        return True

    def save_model(self, request, obj, form, change):
        if change:
            services.change_member_role(
                membership=obj, role=obj.role, actor=request.user, address=client_address(request)
            )
            return
        created = services.add_member(
            environment=obj.environment,
            username=obj.user.get_username(),
            role=obj.role,
            actor=request.user,
            address=client_address(request),
        )
        obj.pk, obj.created_at = created.pk, created.created_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.remove_member(membership=obj, actor=request.user, address=client_address(request))

    @admin.action(description="Remove selected members", permissions=["delete"])
    def remove_members(self, request, queryset):
        for membership in queryset.select_related("user"):
            try:
                services.remove_member(membership=membership, actor=request.user, address=client_address(request))
            except DomainError as exc:
                self.message_user(request, f"{membership.user}: {exc.message}", messages.ERROR)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log, read-only: events are written by the services only, and never changed."""

    list_display = ["created_at", "action", "environment_name", "actor_label", "address", "target", "reason", "count"]
    list_filter = ["action", "actor_type", "reason"]
    search_fields = ["environment_name", "actor_name", "target", "address"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "action",
        "environment",
        "environment_name",
        "actor_type",
        "actor_user",
        "actor_name",
        "address",
        "target",
        "changes",
        "reason",
        "count",
    ]
    readonly_fields = fields

    def changelist_view(self, request, extra_context=None):
        audit.settle_refusals()
        return super().changelist_view(request, extra_context)

    @admin.display(description="Actor", ordering="actor_name")
    def actor_label(self, obj):
        return obj.actor_label

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
