from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination

MAX_OFFSET = 10**9


class Pagination(LimitOffsetPagination):
    """Limit/offset pages of at most 200 rows, with the offset kept in range."""

    default_limit = 50
    max_limit = 200

    def get_offset(self, request) -> int:
        # A larger offset overflows PostgreSQL's bigint and could only ever
        # return an empty page.
        return min(super().get_offset(request), MAX_OFFSET)
