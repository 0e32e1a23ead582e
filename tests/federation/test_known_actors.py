"""What the resolver answers from what it holds, without a request: known handles and names."""

from __future__ import annotations

from datetime import timedelta

from federation.dereference import ActorResolver
from federation.models import RemoteActor
from federation.transport import TransportSettings, open_transport
from tests.conftest import FakeClock


def remote(uri: str, actor_type: str, name: str | None, fetched_minutes_ago: int, clock):
    return RemoteActor(
        uri=uri,
        host="b.example",
        actor_type=actor_type,
        inbox=f"{uri}/inbox",
        preferred_username=name,
        keys={},
        fetched_at=clock.now - timedelta(minutes=fetched_minutes_ago),
    )


async def test_a_known_handle_names_the_person_before_a_group_of_that_name(db, clock: FakeClock):
    # Lemmy: a user and a community may share a name on one server.
    await RemoteActor.bulk_create(
        [
            remote("https://b.example/c/garden", "Group", "garden", 1, clock),
            remote("https://b.example/u/garden", "Person", "garden", 30, clock),
            remote("https://b.example/u/Ada", "Person", "Ada", 5, clock),
        ]
    )
    # b.example does not resolve here: a request would fail the test.
    async with open_transport(TransportSettings(user_agent="test")) as transport:
        resolver = ActorResolver(transport, clock)
        assert await resolver.known_handle("garden", "b.example") == "https://b.example/u/garden"
        assert await resolver.known_handle("Ada", "B.example") == "https://b.example/u/Ada"
        assert await resolver.known_handle("ada", "b.example") is None  # names keep their case
        assert await resolver.known_handle("garden", "c.example") is None
        assert await resolver.known_username("https://b.example/u/Ada") == "Ada"
        assert await resolver.known_username("https://b.example/u/nobody") is None
