"""Helpers for the tests of statuses received from other servers: a fake server that also
serves statuses, follows made by members, and delivering activities and running the worker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from federation.models import InboundMessage
from node.db import activated
from node.follows.models import Follow, FollowState
from node.http.keys import DATABASE, INBOUND_WORKER
from node.members.models import Member
from node.statuses.models import Status, TimelineEntry
from tests.node.test_inbox import NODE, Remote, RemoteActor, deliver

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS}#Public"


@dataclass
class ProfiledActor(RemoteActor):
    """A remote actor whose document carries a profile, as Mastodon publishes it."""

    def document(self) -> dict[str, Any]:
        return super().document() | {
            "name": "Alice <b>Liddell</b>",
            "summary": "<p>Gardener. <script>x</script></p>",
            "url": f"{self.base}/@{self.name}",
            "published": "2020-01-02T00:00:00Z",
            "manuallyApprovesFollowers": False,
            "followers": f"{self.id}/followers",
            "icon": {"type": "Image", "mediaType": "image/png", "url": f"{self.base}/a.png"},
            "image": {"type": "Image", "url": [{"type": "Link", "href": f"{self.base}/h.jpg"}]},
        }


class StatusServer(Remote):
    """The fake remote server, serving statuses too (for boosts of statuses not held here)."""

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[str, dict[str, Any]] = {}

    def add_profiled(self, name: str) -> ProfiledActor:
        actor = ProfiledActor(name, self.base)
        self.actors[name] = actor
        return actor

    async def serve_object(self, request: web.Request) -> web.Response:
        found = self.objects.get(f"{self.base}{request.path}")
        if found is None:
            raise web.HTTPNotFound()
        return web.json_response(found, content_type="application/activity+json")


async def start_status_server(aiohttp_server: Any) -> StatusServer:
    """A fake server on 127.0.0.1 serving its actors and statuses."""
    remote = StatusServer()
    app = web.Application()
    app.router.add_get("/users/{name}", remote.serve_actor)
    app.router.add_get("/users/{name}/statuses/{n}", remote.serve_object)
    app.router.add_post("/users/{name}/inbox", remote.receive)
    app.router.add_post("/inbox", remote.receive)
    server = await aiohttp_server(app)
    remote.base = f"http://127.0.0.1:{server.port}"
    return remote


async def follows(node: Any, member: str, actor: str, now: Any) -> None:
    """``member`` follows ``actor`` (accepted), as the follows feature records it."""
    with activated(node.app[DATABASE]):
        await Follow.create(
            follower=f"{NODE}/users/{member}",
            followee=actor,
            activity_id=f"{NODE}/users/{member}/follows/{actor}",
            activity={},
            state=FollowState.ACCEPTED,
            created_at=now,
            accepted_at=now,
        )


def note(actor: RemoteActor, n: int, **props: Any) -> dict[str, Any]:
    """A public note of ``actor``, Mastodon's shape; ``props`` override its properties."""
    return {
        "id": f"{actor.id}/statuses/{n}",
        "type": "Note",
        "attributedTo": actor.id,
        "to": [PUBLIC],
        "cc": [f"{actor.id}/followers"],
        "content": f"<p>Post number {n}</p>",
        "published": "2026-11-26T11:00:00Z",
        "url": f"{actor.base}/@{actor.name}/{n}",
    } | props


def wrap(kind: str, actor: RemoteActor, obj: Any, n: int | str) -> dict[str, Any]:
    """``kind`` of ``obj`` by ``actor`` (the activity's addressing is the object's)."""
    activity: dict[str, Any] = {
        "@context": AS,
        "id": f"{actor.id}/activities/{kind.lower()}/{n}",
        "type": kind,
        "actor": actor.id,
        "object": obj,
    }
    if isinstance(obj, dict):
        for name in ("to", "cc"):
            if name in obj:
                activity[name] = obj[name]
    return activity


async def send(node: Any, clock: Any, actor: RemoteActor, *activities: dict[str, Any]) -> None:
    """Deliver each activity signed by ``actor`` (every one accepted), then run the worker
    until nothing is due."""
    for activity in activities:
        resp = await deliver(node, clock, actor, activity)
        assert resp.status == 202, await resp.text()
    await work(node)


async def work(node: Any) -> None:
    with activated(node.app[DATABASE]):
        while await node.app[INBOUND_WORKER].run_once():
            pass


async def outcome(node: Any, activity: dict[str, Any]) -> tuple[str, list[str]]:
    """The inbound row's state and its reasons."""
    with activated(node.app[DATABASE]):
        row = await InboundMessage.get(activity_id=activity["id"])
    return row.state.value, row.last_error.split("; ") if row.last_error else []


async def status(node: Any, ap_id: str) -> Status | None:
    with activated(node.app[DATABASE]):
        return await Status.get_or_none(ap_id=ap_id)


async def home(node: Any, member: str) -> list[str]:
    """The ap ids of the statuses in ``member``'s home timeline, newest first."""
    with activated(node.app[DATABASE]):
        who = await Member.get(username=member)
        entries = (
            await TimelineEntry.filter(member=who).order_by("-status_id").prefetch_related("status")
        )
        return [e.status.ap_id for e in entries]
