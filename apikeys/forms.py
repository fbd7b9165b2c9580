"""Dashboard forms for environment API keys: input shape only, the rules live in apikeys.services."""

import datetime

from django import forms
from django.utils import timezone

from apikeys.models import ApiKey, Permission
from common.errors import max_length

NEVER = "never"
ON_DATE = "date"


class ApiKeyCreateForm(forms.Form):
    """Name, description, permission and expiry of a new key (the pair itself is generated)."""

    name = forms.CharField(max_length=max_length(ApiKey, "name"), required=False)
    description = forms.CharField(
        max_length=max_length(ApiKey, "description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    permission = forms.ChoiceField(
        choices=Permission.choices,
        initial=Permission.READ_WRITE,
        widget=forms.RadioSelect,
        help_text="Read-only keys can read this environment's API but change nothing.",
    )
    expires = forms.ChoiceField(
        choices=[(NEVER, "Never"), (ON_DATE, "On a date")],
        initial=NEVER,
        widget=forms.RadioSelect,
    )
    expires_on = forms.DateField(
        required=False,
        label="Expiry date",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Needed for a key that expires. It stops working at 00:00 on this date (server time zone).",
    )

    def clean(self):
        """Require a date when the key is to expire; ignore it when it never expires."""
        cleaned = super().clean()
        if cleaned.get("expires") == ON_DATE and not cleaned.get("expires_on") and "expires_on" not in self.errors:
            self.add_error("expires_on", "Choose the date on which the key expires.")
        return cleaned

    def expires_at(self) -> datetime.datetime | None:
        """Return the chosen expiry as an aware datetime, or None for a key that never expires."""
        if self.cleaned_data.get("expires") != ON_DATE:
            return None
        day = self.cleaned_data["expires_on"]
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class ApiKeyEditForm(forms.Form):
    """A key's name and description: nothing else about a key can change."""

    name = forms.CharField(max_length=max_length(ApiKey, "name"), required=False)
    description = forms.CharField(
        max_length=max_length(ApiKey, "description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
