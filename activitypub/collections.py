"""OrderedCollection and OrderedCollectionPage documents, with paging."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"


def ordered_collection(collection_id: str, total_items: int) -> dict[str, Any]:
    """The collection head: its size and a link to its first page."""
    doc: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": total_items,
        "first": page_id(collection_id, 1),
    }
    return doc


def whole_ordered_collection(collection_id: str, items: Sequence[Any]) -> dict[str, Any]:
    """A small collection served in one document, items inline and no pages, as Mastodon and
    GoToSocial serve ``featured`` (both read the items of the collection itself)."""
    return {
        "@context": AS_CONTEXT,
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": len(items),
        "orderedItems": list(items),
    }


def ordered_collection_page(
    collection_id: str,
    page: int,
    items: Sequence[Any],
    has_next: bool,
) -> dict[str, Any]:
    """One page of a collection (pages are numbered from 1)."""
    doc: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": page_id(collection_id, page),
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "orderedItems": list(items),
    }
    if page > 1:
        doc["prev"] = page_id(collection_id, page - 1)
    if has_next:
        doc["next"] = page_id(collection_id, page + 1)
    return doc


def page_id(collection_id: str, page: int) -> str:
    """Id of page ``page`` of a collection."""
    return f"{collection_id}?page={page}"
