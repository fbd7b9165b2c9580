"""What error reports (the e-mails of ``mail_admins``, with DEBUG off) leave out: secret keys too."""

from django.template.defaultfilters import pprint
from django.views.debug import SafeExceptionReporterFilter

from apikeys import crypto


class SecretKeyHidingFilter(SafeExceptionReporterFilter):
    """Django's filter, which also hides every frame variable whose value holds a secret key.

    ``@sensitive_variables`` hides the variables of our own functions that hold a secret; the
    frames of Django's template engine and of DRF's renderers hold the one response that shows a
    new secret key (a context dict, the serialized data) and cannot be marked. A report shows a
    variable as its ``pprint()``, so that is what is searched. Like Django's filter, this one is
    active only with DEBUG off.
    """

    def get_traceback_frame_variables(self, request, tb_frame):
        """Return the frame's variables, any holding a secret key replaced by the substitute."""
        variables = super().get_traceback_frame_variables(request, tb_frame)
        if not self.is_active(request):
            return variables
        return [
            (name, self.cleansed_substitute if crypto.contains_secret_key(pprint(value)) else value)
            for name, value in variables
        ]
