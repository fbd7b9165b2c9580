"""Dashboard forms for environments and their members: input shape only, the rules live in services."""

from django import forms
from django.contrib.auth import get_user_model

from common.errors import max_length
from environments.models import Environment, GroupMapping, Role


class EnvironmentForm(forms.Form):
    """Name and description of an environment."""

    name = forms.CharField(max_length=max_length(Environment, "name"))
    description = forms.CharField(
        max_length=max_length(Environment, "description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AddMemberForm(forms.Form):
    """A user to add to an environment, by username, with a role."""

    username = forms.CharField(
        max_length=max_length(get_user_model(), get_user_model().USERNAME_FIELD),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class MemberRoleForm(forms.Form):
    """A member's new role."""

    role = forms.ChoiceField(choices=Role.choices)


class GroupMappingForm(forms.Form):
    """A provider group, by name, whose people get a role."""

    group = forms.CharField(
        max_length=max_length(GroupMapping, "group"),
        label="Group",
        help_text="As the provider names it: the LDAP group's cn, or a value of the OpenID Connect groups claim.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.READ_ONLY, label="Role")
