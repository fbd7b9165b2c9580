"""OpenAPI description of the key authentication, for drf-spectacular."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describe ApiKeyAuthentication as HTTP Basic: access key as username, secret key as password."""

    target_class = "apikeys.authentication.ApiKeyAuthentication"
    name = "environmentApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "An environment API key: the access key is the username, the secret key the password.",
        }
