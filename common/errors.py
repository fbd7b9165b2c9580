"""The one domain error that every service raises, and the text rule every service applies."""


class DomainError(Exception):
    """A lifecycle rule refused an action.

    ``code`` is stable and machine-readable (the API maps it to a status code), ``message`` is
    for people, and ``field`` names the input at fault when there is one.
    """

    def __init__(self, message: str, *, code: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


def max_length(model, field: str) -> int | None:
    """Return the model field's ``max_length``: the one limit that forms, serializers and services read."""
    return model._meta.get_field(field).max_length


def clean_text(*, model, field: str, value: str | None, strip: bool = False) -> str:
    """Return ``value`` (stripped if asked) as a string, or raise DomainError if it is too long."""
    value = value or ""
    if strip:
        value = value.strip()
    limit = max_length(model, field)
    if limit is not None and len(value) > limit:
        raise DomainError(f"{field}: at most {limit} characters.", code="max_length", field=field)
    return value
