"""The actor document cache: expiry, eviction, invalidation; and that profile edits show at once."""

from __future__ import annotations

from node.http.doc_cache import DocumentCache
from tests.api import admin_token, bearer, member_token

AP = {"Accept": "application/activity+json"}


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_the_ttl():
    ticks = Ticks()
    cache = DocumentCache(ttl=60, monotonic=ticks)
    cache.put("bob", b"doc")
    ticks.now += 59.9
    assert cache.get("bob") == b"doc"
    ticks.now += 0.2
    assert cache.get("bob") is None


def test_least_recently_used_entry_is_evicted_first():
    cache = DocumentCache(max_entries=2)
    cache.put("a", b"1")
    cache.put("b", b"2")
    assert cache.get("a") == b"1"  # "b" is now the least recently used
    cache.put("c", b"3")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (b"1", None, b"3")


def test_invalidate_forgets_one_key():
    cache = DocumentCache()
    cache.put("a", b"1")
    cache.put("b", b"2")
    cache.invalidate("a")
    cache.invalidate("never-cached")
    assert (cache.get("a"), cache.get("b")) == (None, b"2")


async def test_a_profile_edit_shows_in_the_actor_document_at_once(node):
    token = await member_token(node, await admin_token(node), "bob")
    before = await (await node.get("/users/bob", headers=AP)).json()  # now cached
    assert before["name"] == "bob"
    resp = await node.patch(
        "/api/quartier/v1/me",
        json={"display_name": "Bob (3B)", "bio": "Drill to lend"},
        headers=bearer(token),
    )
    assert resp.status == 200
    after = await (await node.get("/users/bob", headers=AP)).json()
    assert (after["name"], after["summary"]) == ("Bob (3B)", "<p>Drill to lend</p>")


async def test_an_unknown_actor_is_not_cached_as_missing_forever(node):
    assert (await node.get("/users/late", headers=AP)).status == 404
    await member_token(node, await admin_token(node), "late")
    assert (await node.get("/users/late", headers=AP)).status == 200
