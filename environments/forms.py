"""Dashboard forms for environments and their members: input shape only, the rules live in services."""

from django import forms

from environments.models import Environment, Role


class EnvironmentForm(forms.Form):
    """Name and description of an environment."""

    name = forms.CharField(max_length=Environment._meta.get_field("name").max_length)
    description = forms.CharField(
        max_length=Environment._meta.get_field("description").max_length,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AddMemberForm(forms.Form):
    """A user to add to an environment, by username, with a role."""

    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class MemberRoleForm(forms.Form):
    """A member's new role."""

    role = forms.ChoiceField(choices=Role.choices)
