"""A small OpenID Connect provider for the tests: django-oauth-toolkit with OIDC on, run as its own process."""
