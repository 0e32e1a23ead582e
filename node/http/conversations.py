"""Direct messages.

GET    /api/quartier/v1/conversations           my conversations, newest first, with unread counts
POST   /api/quartier/v1/conversations           {"to": ["bob@b.example"], "text": "..."}
GET    /api/quartier/v1/conversations/{id}      its messages, oldest first
POST   /api/quartier/v1/conversations/{id}/messages      {"text": "..."}
PATCH  /api/quartier/v1/conversations/{id}/messages/{m}  {"text": "..."}: edit my own message
DELETE /api/quartier/v1/conversations/{id}/messages/{m}  delete my own message, for everyone
POST   /api/quartier/v1/conversations/{id}/read          mark everything read
"""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field

from node.actors.lookup import MAX_TARGET
from node.conversations.models import Conversation, Message
from node.conversations.render import message_to_api, summary_to_api
from node.conversations.service import MAX_RECIPIENTS, MAX_TEXT
from node.http.auth import authenticate
from node.http.keys import CONTENT, CONVERSATIONS
from node.http.parsing import Body, read_json
from node.members.models import Member
from node.moderation.safety import Creation

routes = web.RouteTableDef()


# A handle or an actor URL; longer is neither (and is never echoed back in an error).
Recipient = Annotated[str, Field(min_length=1, max_length=MAX_TARGET)]


class NewConversation(Body):
    to: list[Recipient] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class NewMessage(Body):
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class NoFields(Body):
    """A request that takes no fields: an empty body, or ``{}``."""


@routes.get("/api/quartier/v1/conversations")
async def list_conversations(request: web.Request) -> web.Response:
    """The caller's conversations."""
    caller = await authenticate(request)
    summaries = await request.app[CONVERSATIONS].summaries(caller.member)
    return web.json_response([summary_to_api(s) for s in summaries])


@routes.post("/api/quartier/v1/conversations")
async def start(request: web.Request) -> web.Response:
    """Start a conversation with a first message; 201 with the conversation's id."""
    caller = await authenticate(request)
    body = await read_json(request, NewConversation)
    conversation = await start_conversation(request, caller.member, body.to, body.text)
    return web.json_response({"id": conversation.id}, status=201)


async def start_conversation(
    request: web.Request, member: Member, to: list[str], text: str
) -> Conversation:
    """Start a conversation: the one start the JSON API and the web pages use, counted
    against the member's hourly message limit (429). Raises the service's errors."""
    request.app[CONTENT].count(Creation.MESSAGE, member)
    return await request.app[CONVERSATIONS].start(member, to, text)


async def send_message(
    request: web.Request, member: Member, conversation_id: int, text: str
) -> Message:
    """Reply in a conversation: the one reply the JSON API and the web pages use, counted
    against the member's hourly message limit (429). Raises the service's errors."""
    request.app[CONTENT].count(Creation.MESSAGE, member)
    return await request.app[CONVERSATIONS].reply(member, conversation_id, text)


@routes.get(r"/api/quartier/v1/conversations/{cid:\d{1,9}}")
async def read(request: web.Request) -> web.Response:
    """The messages of a conversation."""
    caller = await authenticate(request)
    messages = await request.app[CONVERSATIONS].messages(
        caller.member, int(request.match_info["cid"])
    )
    return web.json_response([message_to_api(m) for m in messages])


@routes.post(r"/api/quartier/v1/conversations/{cid:\d{1,9}}/messages")
async def send(request: web.Request) -> web.Response:
    """Reply in a conversation; 201 with the message."""
    caller = await authenticate(request)
    body = await read_json(request, NewMessage)
    message = await send_message(request, caller.member, int(request.match_info["cid"]), body.text)
    return web.json_response(message_to_api(message), status=201)


@routes.patch(r"/api/quartier/v1/conversations/{cid:\d{1,9}}/messages/{mid:\d{1,9}}")
async def edit(request: web.Request) -> web.Response:
    """Edit one of the caller's own messages; 200 with the message."""
    caller = await authenticate(request)
    # The same body, and so the same limits, as sending a message.
    body = await read_json(request, NewMessage)
    message = await request.app[CONVERSATIONS].edit(
        caller.member,
        int(request.match_info["cid"]),
        int(request.match_info["mid"]),
        body.text,
    )
    return web.json_response(message_to_api(message))


@routes.delete(r"/api/quartier/v1/conversations/{cid:\d{1,9}}/messages/{mid:\d{1,9}}")
async def delete(request: web.Request) -> web.Response:
    """Delete one of the caller's own messages for everyone (204, again if already deleted)."""
    caller = await authenticate(request)
    await request.app[CONVERSATIONS].delete(
        caller.member, int(request.match_info["cid"]), int(request.match_info["mid"])
    )
    return web.Response(status=204)


@routes.post(r"/api/quartier/v1/conversations/{cid:\d{1,9}}/read")
async def mark_read(request: web.Request) -> web.Response:
    """Mark the conversation read."""
    caller = await authenticate(request)
    if request.body_exists:
        await read_json(request, NoFields)  # anything in it is a mistake: say so
    await request.app[CONVERSATIONS].mark_read(caller.member, int(request.match_info["cid"]))
    return web.Response(status=204)
