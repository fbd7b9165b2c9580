"""Credentials as clients send them."""

import base64


def basic_auth(access_key: str, secret: str) -> str:
    """Return the Authorization header value that ``curl -u ACCESS:SECRET`` sends."""
    return "Basic " + base64.b64encode(f"{access_key}:{secret}".encode()).decode()
