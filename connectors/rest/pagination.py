"""Pagination styles: a small ABC, one class per style and a registry keyed by `type`.

A paginator lives for one listing. `first()` gives the query parameters of the first request;
`next(page)` gives the next request (more parameters, or a whole URL) or None when done.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jmespath
from yarl import URL

from connectors.rest.client import Params, Response
from connectors.rest.config import (
    CursorPagination,
    LinkPagination,
    NextUrlPagination,
    NoPagination,
    OffsetPagination,
    PagePagination,
)

__all__ = ["PAGINATORS", "NextPage", "Paginator", "make_paginator", "register_paginator"]


@dataclass(frozen=True, slots=True)
class NextPage:
    """The next request: replace these query parameters, or follow `url` as it is."""

    params: Params = field(default_factory=tuple)
    url: URL | None = None


class Paginator(abc.ABC):
    """Walks the pages of one listing."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec

    def first(self) -> Params:
        """Query parameters for the first page."""
        return ()

    @abc.abstractmethod
    def next(self, page: Response, count: int) -> NextPage | None:
        """The request for the page after `page` (which held `count` records), or None."""


class SinglePage(Paginator):
    def next(self, page: Response, count: int) -> NextPage | None:
        return None


def _read_all(total_path: str | None, body: Any, seen: int) -> bool:
    """True when the body's total count (at `total_path`) says nothing is left to read."""
    if total_path is None:
        return False
    total = jmespath.search(total_path, body)
    return isinstance(total, int) and not isinstance(total, bool) and seen >= total


class PageNumber(Paginator):
    spec: PagePagination

    def __init__(self, spec: PagePagination) -> None:
        super().__init__(spec)
        self.page = spec.start
        self.seen = 0

    def first(self) -> Params:
        return ((self.spec.page_param, str(self.page)), (self.spec.size_param, str(self.spec.size)))

    def next(self, page: Response, count: int) -> NextPage | None:
        self.seen += count
        if count < self.spec.size or _read_all(self.spec.total_path, page.body, self.seen):
            return None
        self.page += 1
        return NextPage(params=self.first())


class Offset(Paginator):
    spec: OffsetPagination

    def __init__(self, spec: OffsetPagination) -> None:
        super().__init__(spec)
        self.offset = 0

    def first(self) -> Params:
        spec = self.spec
        return ((spec.offset_param, str(self.offset)), (spec.limit_param, str(spec.limit)))

    def next(self, page: Response, count: int) -> NextPage | None:
        if count < self.spec.limit:
            return None
        self.offset += count
        if _read_all(self.spec.total_path, page.body, self.offset):
            return None
        return NextPage(params=self.first())


class Cursor(Paginator):
    spec: CursorPagination

    def next(self, page: Response, count: int) -> NextPage | None:
        cursor = jmespath.search(self.spec.cursor_path, page.body)
        if cursor is None or cursor == "":
            return None
        return NextPage(params=((self.spec.cursor_param, str(cursor)),))


class NextUrl(Paginator):
    spec: NextUrlPagination

    def next(self, page: Response, count: int) -> NextPage | None:
        if self.spec.done_path and jmespath.search(self.spec.done_path, page.body):
            return None
        target = jmespath.search(self.spec.next_path, page.body)
        if not target or not isinstance(target, str):
            return None
        return NextPage(url=page.url.join(URL(target)))


class LinkHeader(Paginator):
    def next(self, page: Response, count: int) -> NextPage | None:
        return NextPage(url=URL(page.link_next)) if page.link_next else None


PAGINATORS: dict[str, Callable[[Any], Paginator]] = {
    "none": SinglePage,
    "page": PageNumber,
    "offset": Offset,
    "cursor": Cursor,
    "next_url": NextUrl,
    "link": LinkHeader,
}


def register_paginator(name: str, factory: Callable[[Any], Paginator]) -> None:
    """Add a style; its config model must still be accepted by `RestEntityMap.pagination`."""
    PAGINATORS[name] = factory


Spec = (
    NoPagination | PagePagination | OffsetPagination | CursorPagination | NextUrlPagination
    | LinkPagination
)


def make_paginator(spec: Spec) -> Paginator:
    """A fresh paginator for one listing."""
    return PAGINATORS[spec.type](spec)
