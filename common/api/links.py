"""Absolute links for API representations: each collection reversed once per response, ids appended.

A page of keys carries several links per key, and reversing a URL with DRF's ``reverse`` costs
tens of microseconds. The links of one response differ only by their ids, so each collection URL
(``/api/v1/environments/``, ``/api/v1/environments/3/apikeys/``) is reversed once with DRF's
``reverse``, kept for the rest of the request, and an item's URL is the collection's with
``<id>/`` (and any nested path, such as an action's ``deactivate/``) appended to its path. The
query that DRF's ``reverse`` keeps (``?format=json``) stays at the end.
"""

from rest_framework.reverse import reverse


class Links:
    """The absolute URLs of one request's response."""

    def __init__(self, request):
        self.request = request
        self._collections: dict[tuple, str] = {}

    def collection(self, viewname: str, **kwargs) -> str:
        """Return the URL of a collection route (``api:<basename>-list``), reversed once per request."""
        cache_key = (viewname, *sorted(kwargs.items()))
        url = self._collections.get(cache_key)
        if url is None:
            url = reverse(viewname, kwargs=kwargs or None, request=self.request)
            self._collections[cache_key] = url
        return url

    def item(self, viewname: str, pk: int, *path: str, **kwargs) -> str:
        """Return the URL of item ``pk`` of a collection, or of ``path`` below it (an action, a nested collection)."""
        return _append(self.collection(viewname, **kwargs), "".join(f"{part}/" for part in (str(pk), *path)))


def _append(url: str, tail: str) -> str:
    # A reversed URL has no fragment; its query, if any, is DRF's ?format= and stays last.
    path, mark, query = url.partition("?")
    return path + tail + mark + query


def links_for(request) -> Links:
    """Return the links of this request's response, made on first use and kept on the request."""
    links = getattr(request, "api_links", None)
    if links is None:
        links = request.api_links = Links(request)
    return links
