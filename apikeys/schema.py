"""How the OpenAPI schema describes API-key authentication: HTTP Basic, access key : secret key."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """HTTP Basic with an environment API key (``curl -u ACCESS_KEY:SECRET_KEY``)."""

    target_class = "apikeys.authentication.ApiKeyAuthentication"
    name = "environmentApiKey"

    def get_security_definition(self, auto_schema):
        """Return the security scheme: HTTP Basic, the access key as username, the secret as password."""
        return {
            "type": "http",
            "scheme": "basic",
            "description": "An environment API key: the access key is the username, the secret key the password.",
        }
