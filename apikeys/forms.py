"""Dashboard forms for environment API keys: input shape only, the rules live in apikeys.services."""

import datetime

from django import forms
from django.utils import timezone

from apikeys.models import ApiKey, Permission
from common.errors import max_length

NEVER = "never"
ON_DATE = "date"
# Expiry presets offered on the add-key form, in days from now; a key that expires is the default.
PRESET_DAYS = (7, 30, 90)
DEFAULT_EXPIRY = "30"


def _day(day: datetime.date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


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
        choices=[(str(days), f"{days} days") for days in PRESET_DAYS] + [(ON_DATE, "On a date"), (NEVER, "Never")],
        initial=DEFAULT_EXPIRY,
        widget=forms.RadioSelect,
        help_text="A key that expires stops working by itself: a forgotten key does not stay usable for ever.",
    )
    expires_on = forms.DateField(
        required=False,
        label="Expiry date",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text='With "On a date", the key stops working at 00:00 on this date (server time zone).',
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Each preset names the day it leads to, as of now.
        today = timezone.localdate()
        self.fields["expires"].choices = [
            (value, f"{label} ({_day(today + datetime.timedelta(days=int(value)))})" if value.isdigit() else label)
            for value, label in self.fields["expires"].choices
        ]

    def clean(self):
        """Require a date when the key is to expire; ignore it when it never expires."""
        cleaned = super().clean()
        if cleaned.get("expires") == ON_DATE and not cleaned.get("expires_on") and "expires_on" not in self.errors:
            self.add_error("expires_on", "Choose the date on which the key expires.")
        return cleaned

    def expires_at(self) -> datetime.datetime | None:
        """Return the chosen expiry as an aware datetime, or None for a key that never expires.

        A preset of N days expires N days from now, to the second; a date expires at its 00:00.
        Whether the expiry is acceptable (in the future) is ``services.ensure_future_expiry``'s call.
        """
        choice = self.cleaned_data.get("expires")
        if choice == ON_DATE:
            day = self.cleaned_data["expires_on"]
            return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
        if choice in {str(days) for days in PRESET_DAYS}:
            return timezone.now() + datetime.timedelta(days=int(choice))
        return None


class ApiKeyEditForm(forms.Form):
    """A key's name and description: nothing else about a key can change."""

    name = forms.CharField(max_length=max_length(ApiKey, "name"), required=False)
    description = forms.CharField(
        max_length=max_length(ApiKey, "description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
