"""Serializer plumbing shared by every API input: strict fields."""

from collections.abc import Mapping

from rest_framework import exceptions, serializers

# Form plumbing the browsable API adds to submitted data; never a field of ours.
_FORM_PLUMBING = {"csrfmiddlewaretoken", "_content", "_content_type", "_method"}


class StrictFieldsMixin:
    """Refuse input fields that are read-only or unknown, naming each one, and text that is not a string.

    ``immutable_fields`` maps field names to the message given when a client tries to set them.
    """

    immutable_fields: Mapping[str, str] = {}

    def to_internal_value(self, data):
        """Validate ``data`` after refusing any field the client may not set."""
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            errors = {}
            for name in data:
                if name in writable or name in _FORM_PLUMBING:
                    continue
                if name in self.immutable_fields or name in self.fields:
                    message = self.immutable_fields.get(name, "This field cannot be changed.")
                    errors[name] = [exceptions.ErrorDetail(message, code="read_only_field")]
                else:
                    errors[name] = [exceptions.ErrorDetail("Unknown field.", code="unknown_field")]
            for name, field in self.fields.items():
                # DRF turns 123 or true into "123" or "True"; a number where text belongs is a mistake.
                value = data.get(name)
                if isinstance(field, serializers.CharField) and value is not None and not isinstance(value, str):
                    errors.setdefault(name, [exceptions.ErrorDetail("Not a valid string.", code="invalid")])
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
