"""Django admin for environments and memberships: every change goes through environments.services."""

from django import forms
from django.contrib import admin, messages

from common.actor import Actor
from common.errors import DomainError
from environments import selectors, services
from environments.models import Environment, GroupMapping, Membership


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
                environment=obj, name=obj.name, description=obj.description, actor=Actor.of(request)
            )
            return
        actor = Actor.of(request)
        created = services.create_environment(name=obj.name, description=obj.description, owner=actor.user, actor=actor)
        obj.pk, obj.created_at = created.pk, created.created_at
        obj._state.adding = False

    def get_deleted_objects(self, objs, request):
        """List what deleting the environments takes with it, as ``services.delete_environment`` does it.

        Deleting goes through that service, which takes an environment's keys and members with it;
        the rules that guard a key or a membership deleted on its own ("delete only inactive keys",
        "keep one owner") do not apply, so Django's per-object permission walk is not asked.
        """
        deleted, counts = [], {}
        for environment in objs:
            summary = selectors.deletion_summary(environment=environment)
            deleted.append(f"{Environment._meta.verbose_name.capitalize()}: {environment}")
            deleted.append([f"{count} {label}" for label, count in summary.items()])
            counts[Environment._meta.verbose_name_plural] = counts.get(Environment._meta.verbose_name_plural, 0) + 1
            for label, count in summary.items():
                counts[label] = counts.get(label, 0) + count
        return deleted, counts, set(), []

    def delete_model(self, request, obj):
        services.delete_environment(environment=obj, actor=Actor.of(request))

    def delete_queryset(self, request, queryset):
        actor = Actor.of(request)
        for environment in queryset:
            services.delete_environment(environment=environment, actor=actor)


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
            services.ensure_has_direct_role(membership=obj)
            services.ensure_keeps_an_owner(membership=obj, new_role=obj.group_role or None)
        except DomainError:
            return False
        return True

    def save_model(self, request, obj, form, change):
        if change:
            services.change_member_role(membership=obj, role=obj.role, actor=Actor.of(request))
            return
        created = services.add_member(
            environment=obj.environment,
            username=obj.user.get_username(),
            role=obj.role,
            actor=Actor.of(request),
        )
        obj.pk, obj.created_at = created.pk, created.created_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.remove_member(membership=obj, actor=Actor.of(request))

    @admin.action(description="Remove selected members", permissions=["delete"])
    def remove_members(self, request, queryset):
        actor = Actor.of(request)
        for membership in queryset.select_related("user"):
            try:
                services.remove_member(membership=membership, actor=actor)
            except DomainError as exc:
                self.message_user(request, f"{membership.user}: {exc.message}", messages.ERROR)


class GroupMappingForm(forms.ModelForm):
    """Refuses, next to the field, a group that is already mapped in the environment (in any case)."""

    class Meta:
        model = GroupMapping
        fields = ["environment", "group", "role"]

    def validate_unique(self):
        """Leave uniqueness to the service (save_model), which says it in words; the form checks the fields."""

    def clean(self):
        cleaned = super().clean()
        environment, group = cleaned.get("environment"), cleaned.get("group")
        if environment is not None and group:
            try:
                services.ensure_group_not_mapped(environment=environment, group=group)
            except DomainError as exc:
                self.add_error("group", exc.message)
        return cleaned


@admin.register(GroupMapping)
class GroupMappingAdmin(admin.ModelAdmin):
    """Provider groups mapped to roles: added and removed through environments.services (audited), never edited."""

    form = GroupMappingForm
    list_display = ["group", "environment", "role", "created_at"]
    list_filter = ["role", "environment"]
    search_fields = ["group", "environment__name"]
    list_select_related = ["environment"]
    actions = ["remove_mappings"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_change_permission(self, request, obj=None):
        # A mapping is removed and added again, never edited: its audit trail stays two clear events.
        return False

    def save_model(self, request, obj, form, change):
        created = services.add_group_mapping(
            environment=obj.environment, group=obj.group, role=obj.role, actor=Actor.of(request)
        )
        obj.pk, obj.created_at = created.pk, created.created_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.remove_group_mapping(mapping=obj, actor=Actor.of(request))

    @admin.action(description="Remove selected group mappings", permissions=["delete"])
    def remove_mappings(self, request, queryset):
        actor = Actor.of(request)
        for mapping in queryset:
            try:
                services.remove_group_mapping(mapping=mapping, actor=actor)
            except DomainError as exc:
                self.message_user(request, f"{mapping.group}: {exc.message}", messages.ERROR)
