"""OrderedCollection heads and pages, as remote servers walk them (``first``, ``next``,
``prev``, ``partOf``)."""

from __future__ import annotations

from activitypub.collections import (
    ordered_collection,
    ordered_collection_page,
    page_id,
    whole_ordered_collection,
)

OUTBOX = "https://quartier.example/users/bob/outbox"


def test_head_gives_size_and_first_page():
    assert ordered_collection(OUTBOX, total_items=3) == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": OUTBOX,
        "type": "OrderedCollection",
        "totalItems": 3,
        "first": f"{OUTBOX}?page=1",
    }


def test_empty_collection_still_links_a_first_page():
    head = ordered_collection(OUTBOX, total_items=0)
    assert head["totalItems"] == 0
    assert head["first"] == page_id(OUTBOX, 1)


def test_first_page_has_no_prev():
    page = ordered_collection_page(OUTBOX, 1, ["a", "b"], has_next=True)
    assert page["id"] == f"{OUTBOX}?page=1"
    assert page["type"] == "OrderedCollectionPage"
    assert page["partOf"] == OUTBOX
    assert page["orderedItems"] == ["a", "b"]
    assert "prev" not in page
    assert page["next"] == f"{OUTBOX}?page=2"


def test_middle_page_links_both_ways():
    page = ordered_collection_page(OUTBOX, 3, ["x"], has_next=True)
    assert page["prev"] == f"{OUTBOX}?page=2"
    assert page["next"] == f"{OUTBOX}?page=4"


def test_last_page_has_no_next():
    page = ordered_collection_page(OUTBOX, 2, ["z"], has_next=False)
    assert page["prev"] == f"{OUTBOX}?page=1"
    assert "next" not in page


def test_empty_page_has_an_empty_item_list():
    page = ordered_collection_page(OUTBOX, 1, [], has_next=False)
    assert page["orderedItems"] == []
    assert "next" not in page
    assert "prev" not in page


def test_items_are_copied_into_a_json_list():
    items = ("a", "b")
    page = ordered_collection_page(OUTBOX, 1, items, has_next=False)
    assert page["orderedItems"] == ["a", "b"]
    assert isinstance(page["orderedItems"], list)


def test_page_ids_are_the_collection_with_a_page_query():
    assert page_id(OUTBOX, 7) == f"{OUTBOX}?page=7"
    assert (
        ordered_collection(OUTBOX, 0)["first"]
        == ordered_collection_page(OUTBOX, 1, [], has_next=False)["id"]
    )


def test_a_whole_collection_carries_its_items_and_no_pages():
    featured = "https://quartier.example/users/bob/featured"
    note = "https://quartier.example/notes/1"
    assert whole_ordered_collection(featured, [note]) == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": featured,
        "type": "OrderedCollection",
        "totalItems": 1,
        "orderedItems": [note],
    }
