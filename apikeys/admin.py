"""Django admin for environment API keys: every change goes through apikeys.services."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_variables

from apikeys import services
from apikeys.models import Action, ApiKey
from common.actor import Actor
from common.errors import DomainError
from environments.serializers import environment_url


class ApiKeyForm(forms.ModelForm):
    """Refuses, next to the field, an expiry the create service would refuse."""

    def clean_expires_at(self):
        expires_at = self.cleaned_data["expires_at"]
        try:
            services.ensure_future_expiry(expires_at=expires_at)
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc
        return expires_at


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created, edited, (de)activated and deleted through the same services as the API."""

    form = ApiKeyForm

    list_display = [
        "access_key",
        "name",
        "environment",
        "state_badge",
        "permission",
        "expires_at",
        "created_at",
        "created_by",
        "last_used_at",
    ]
    list_filter = ["state", "permission", "environment", ("created_by", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["access_key", "name", "description", "environment__name", "created_by__username"]
    list_select_related = ["environment", "created_by"]
    actions = ["activate_keys", "deactivate_keys", "delete_inactive_keys"]
    readonly_fields = ["access_key", "state", "created_at", "created_by", "last_used_at"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["environment", "name", "description", "permission", "expires_at"]
        return [
            "environment",
            "access_key",
            "name",
            "description",
            "state",
            "permission",
            "expires_at",
            "created_at",
            "created_by",
            "last_used_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "environment",
            "access_key",
            "state",
            "permission",
            "expires_at",
            "created_at",
            "created_by",
            "last_used_at",
        ]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="State", ordering="state")
    def state_badge(self, obj):
        colour = "#1a7f37" if obj.is_usable() else "#8c959f"
        return format_html('<strong style="color:{}">{}</strong>', colour, obj.status_label)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.allows(Action.DELETE))

    @sensitive_variables("secret")
    def save_model(self, request, obj, form, change):
        if change:
            services.update_api_key(key=obj, name=obj.name, description=obj.description, actor=Actor.of(request))
            return
        key, secret = services.create_api_key(
            environment=obj.environment,
            name=obj.name,
            description=obj.description,
            permission=obj.permission,
            expires_at=obj.expires_at,
            actor=Actor.of(request),
        )
        # The admin goes on with ``obj`` (redirect, log entry): make it the row that was created.
        obj.pk, obj.access_key, obj.secret_hash, obj.created_at, obj.created_by = (
            key.pk,
            key.access_key,
            key.secret_hash,
            key.created_at,
            key.created_by,
        )
        obj._state.adding = False
        # Kept on this in-memory object only, for response_add to render once.
        obj.new_secret_key = secret

    @sensitive_variables("secret", "context")
    def response_add(self, request, obj, post_url_continue=None):
        """Show the new key pair once, in this response: never in a message cookie, session or URL."""
        secret = getattr(obj, "new_secret_key", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": "API key created",
            # Set, though empty: a variable a template fails to find is logged (at DEBUG) with the
            # whole context, which holds the secret key.
            "subtitle": None,
            "opts": self.opts,
            "key": obj,
            "secret_key": secret,
            "endpoint": environment_url(obj.environment_id, request),
        }
        response = TemplateResponse(request, "admin/apikeys/apikey/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def delete_model(self, request, obj):
        services.delete_api_key(key=obj, actor=Actor.of(request))

    def _apply(self, request, queryset, service, verb):
        done, refused = 0, []
        actor = Actor.of(request)
        for key in queryset:
            try:
                service(key=key, actor=actor)
                done += 1
            except DomainError as exc:
                refused.append(f"{key.access_key}: {exc.message}")
        if done:
            self.message_user(request, f"{verb} {done} key(s).", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.ERROR)

    @admin.action(description="Activate selected keys", permissions=["change"])
    def activate_keys(self, request, queryset):
        self._apply(request, queryset, services.activate_api_key, "Activated")

    @admin.action(description="Deactivate selected keys", permissions=["change"])
    def deactivate_keys(self, request, queryset):
        self._apply(request, queryset, services.deactivate_api_key, "Deactivated")

    @admin.action(description="Delete selected inactive keys", permissions=["delete"])
    def delete_inactive_keys(self, request, queryset):
        self._apply(request, queryset, services.delete_api_key, "Deleted")
