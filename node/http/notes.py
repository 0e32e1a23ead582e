"""Our members' private notes, served to the servers of their participants only.

    GET /users/{username}/messages/{id}   the Note of a direct message (authorized fetch)

A direct message is private: it is served only to a request signed by one of the
conversation's participants (the way Mastodon's authorized fetch works); anyone else gets 404,
so its existence is not revealed. A deleted message answers 410 with a Tombstone.
"""

from __future__ import annotations

import json

from aiohttp import web

from activitypub.media_types import ACTIVITY_JSON
from federation.errors import UnverifiedSender
from federation.inbound import InboundRequest, addressed_to_us, signer_of
from moderation import filters
from moderation.domains import authority_of
from moderation.governance import Reach, SharedKind
from node.conversations.models import Conversation, Message, Participant
from node.errors import Gone, NotFound, Unauthorized
from node.http.keys import CLOCK, CONVERSATIONS, GOVERNANCE, PARTNERSHIPS, RESOLVER, SETTINGS

routes = web.RouteTableDef()


@routes.get(r"/users/{username:[a-z0-9_]{1,30}}/messages/{mid:[0-9a-f]{32}}")
async def message_note(request: web.Request) -> web.Response:
    """The Note, for a signed request from a participant of its conversation."""
    settings = request.app[SETTINGS]
    author = settings.uris.actor(request.match_info["username"])
    # The signature first: an unsigned request learns nothing, not even whether it exists.
    fetch = InboundRequest(
        method="GET",
        url=settings.server.base_url + request.raw_path,
        headers=addressed_to_us(request.headers, settings.uris.domain),
        body=None,
    )
    try:
        signer = await signer_of(fetch, request.app[RESOLVER], request.app[CLOCK]())
    except UnverifiedSender as exc:
        raise Unauthorized(f"this object is private: sign the request ({exc})") from None
    message = await Message.get_or_none(ap_id=f"{author}/messages/{request.match_info['mid']}")
    if message is None:
        raise NotFound("no such object")
    conversation = await Conversation.get(id=message.conversation_id)  # type: ignore[attr-defined]
    participants = await Participant.filter(conversation=conversation).values_list(
        "actor", flat=True
    )
    if signer not in participants or not await _shares_messages_with(request, signer):
        raise NotFound("no such object")
    if message.deleted_at is not None:
        raise Gone("this message was deleted")
    if await filters.not_shown("message", [message.ap_id]):
        raise NotFound("no such object")  # held or hidden by a keyword filter
    recipients = [str(p) for p in participants if p != message.author]
    note = await request.app[CONVERSATIONS].note_of(message, conversation, recipients)
    note["@context"] = "https://www.w3.org/ns/activitystreams"
    return web.Response(
        body=json.dumps(note).encode("utf-8"),
        headers={
            "Content-Type": f"{ACTIVITY_JSON}; charset=utf-8",
            "Vary": "Signature",
            "Cache-Control": "private, no-store",
        },
    )


async def _shares_messages_with(request: web.Request, signer: str) -> bool:
    """Whether the community's policy lets messages go to ``signer``'s server."""
    reach = (await request.app[GOVERNANCE].current()).reach(SharedKind.MESSAGES)
    if reach is not Reach.PARTNERS:
        return reach is Reach.PUBLIC
    return await request.app[PARTNERSHIPS].is_partner(authority_of(signer))
