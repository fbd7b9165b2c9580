"""The one domain error that every service raises."""


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
