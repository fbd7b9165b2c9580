"""Pagination of every API list."""

from rest_framework import pagination


class Pagination(pagination.PageNumberPagination):
    """Page-number pagination with a client-chosen page size, capped."""

    page_size_query_param = "page_size"
    max_page_size = 500
