"""docs/forward-auth.md shows exactly the configurations that the dashboard fills in and the proxy tests run."""

from pathlib import Path

import pytest
from django.conf import settings

from apikeys.forward_auth import PROXY_TEMPLATES, proxy_configurations

EXAMPLE_AUTHORIZE_URL = "https://envkeys.example.com/api/v1/environments/3/authorize/"


@pytest.mark.parametrize("proxy", list(PROXY_TEMPLATES))
def test_the_docs_page_shows_each_shipped_configuration_as_it_is_generated(proxy):
    page = (Path(settings.BASE_DIR) / "docs" / "forward-auth.md").read_text()

    configuration = proxy_configurations(authorize_url=EXAMPLE_AUTHORIZE_URL)[proxy]

    assert f"\n{configuration}```\n" in page


def test_the_readme_points_to_the_forward_auth_page():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()

    assert "(docs/forward-auth.md)" in readme
