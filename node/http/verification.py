"""Verification: proofs of residence, vouches, invites that vouch, and the managers' side.

GET    /api/quartier/v1/me/verification              my level, documents, vouches
POST   /api/quartier/v1/me/verification/document     upload a proof of residence (multipart)
DELETE /api/quartier/v1/me/verification/document     take my pending proof back
GET    /api/quartier/v1/me/invites                   my usable invites
POST   /api/quartier/v1/me/invites                   invite a neighbour (verified members)
DELETE /api/quartier/v1/me/invites/{id}              revoke one of my invites
POST   /api/quartier/v1/members/{username}/vouch     vouch for a neighbour (verified members)
GET    /api/quartier/v1/verification?actor=...       how neighbours here or elsewhere are verified
DELETE /api/quartier/v1/members/{username}/vouch     take my vouch back
GET    /api/quartier/v1/admin/verification/documents          proofs waiting for a decision (staff)
GET    /api/quartier/v1/admin/verification/documents/{id}/file   read one (each view audited)
POST   /api/quartier/v1/admin/verification/documents/{id}/decision   {"approve", "reason"}
GET    /api/quartier/v1/admin/verification/review    members whose verification needs a look
GET    /api/quartier/v1/admin/verification/events    the audit trail, newest first
GET    /api/quartier/v1/admin/endorsements           nodes this node (a municipality) endorses
POST   /api/quartier/v1/admin/endorsements           {"node", "name", "area"}: endorse one
DELETE /api/quartier/v1/admin/endorsements?node=...  revoke an endorsement
"""

from __future__ import annotations

import re

from aiohttp import web
from pydantic import Field

from node.errors import Conflict, Forbidden, NotFound, ValidationFailed
from node.http.auth import authenticate, require_role
from node.http.keys import (
    CREDENTIALS,
    MEMBERS,
    SETTINGS,
    TRUST,
    VERIFICATION,
    VERIFICATION_LIMITER,
)
from node.http.parsing import Body, read_json
from node.http.uploads import Upload, read_upload
from node.members.models import Member, Role, Verification
from node.members.render import invite_to_api, member_to_api
from node.verification.documents import EXTENSIONS
from node.verification.models import VerificationEvent
from node.verification.render import (
    document_to_api,
    endorsement_to_api,
    event_to_api,
    verification_to_api,
    verifications_of,
)

routes = web.RouteTableDef()

# Open invites a member may have at once: enough for a household or a landing, not a mailing.
MAX_OPEN_INVITES = 5
MAX_EVENTS = 200
MAX_ACTORS = 40
_ACTOR = re.compile(r"https?://[^\s/?#]+(?:/[^\s]*)?")
_DOCUMENT = r"{document_id:\d{1,9}}"


class MemberInvite(Body):
    note: str = Field(default="", max_length=200)
    vouch: bool = True


class Endorsement(Body):
    node: str = Field(min_length=8, max_length=2048, pattern=r"^https?://[^\s/]+/\S*$")
    name: str = Field(min_length=1, max_length=200)
    area: str = Field(default="", max_length=200)


class Decision(Body):
    approve: bool
    reason: str = Field(default="", max_length=500)


@routes.get("/api/quartier/v1/me/verification")
async def my_verification(request: web.Request) -> web.Response:
    """Where the caller stands: level, method, documents' outcomes, vouches."""
    caller = await authenticate(request)
    return web.json_response(await verification_to_api(caller.member, request.app[VERIFICATION]))


@routes.post("/api/quartier/v1/me/verification/document")
async def upload_document(request: web.Request) -> web.Response:
    """Send a proof of residence (``file``: PDF, JPEG or PNG); 201 with its record."""
    caller = await authenticate(request)
    service = request.app[VERIFICATION]
    upload = await read_proof(request, caller.member)
    document = await service.upload(caller.member, upload.data, upload.filename)
    shown = document_to_api(document, await service.filename_of(document))
    return web.json_response(shown, status=201)


async def read_proof(
    request: web.Request, member: Member, *, text_field: str | None = None, text_max: int = 0
) -> Upload:
    """Read a proof of residence upload for ``member`` (with one ``text_field``, such as a
    form's CSRF token): the one reading the JSON API and the web pages use, with the same
    limits. 409 when already verified (before reading megabytes), 429 past the upload limit,
    then :func:`read_upload`'s 413, 415, 422 and 400. The caller stores it with
    ``VerificationService.upload``, which checks the file's type."""
    if member.verification is Verification.VERIFIED:
        raise Conflict("you are already verified")
    request.app[VERIFICATION_LIMITER].hit(f"document:{member.id}")
    max_bytes = request.app[VERIFICATION].settings.document_max_bytes
    return await read_upload(
        request, max_bytes, what="the proof of residence", text_field=text_field, text_max=text_max
    )


@routes.delete("/api/quartier/v1/me/verification/document")
async def withdraw_document(request: web.Request) -> web.Response:
    """Take back the pending proof of residence; it is deleted at once."""
    caller = await authenticate(request)
    document = await request.app[VERIFICATION].withdraw_document(caller.member)
    return web.json_response(document_to_api(document))


@routes.get("/api/quartier/v1/me/invites")
async def my_invites(request: web.Request) -> web.Response:
    """The caller's invites still usable."""
    caller = await authenticate(request)
    invites = await request.app[MEMBERS].list_invites(created_by=caller.member)
    return web.json_response([invite_to_api(invite) for invite in invites])


@routes.post("/api/quartier/v1/me/invites")
async def invite_neighbour(request: web.Request) -> web.Response:
    """A verified member invites a neighbour, vouching for them unless ``"vouch": false``."""
    caller = await authenticate(request)
    body = await read_json(request, MemberInvite)
    if caller.member.verification is not Verification.VERIFIED:
        raise Forbidden("only verified members may invite neighbours")
    members = request.app[MEMBERS]
    if len(await members.list_invites(created_by=caller.member)) >= MAX_OPEN_INVITES:
        raise Conflict(f"you have {MAX_OPEN_INVITES} invites waiting; revoke one first")
    invite, secret = await members.create_invite(
        Role.RESIDENT, created_by=caller.member, note=body.note, vouch=body.vouch
    )
    return web.json_response(invite_to_api(invite, secret.secret), status=201)


@routes.delete(r"/api/quartier/v1/me/invites/{invite_id:\d{1,9}}")
async def revoke_my_invite(request: web.Request) -> web.Response:
    """Revoke one of the caller's unused invites."""
    caller = await authenticate(request)
    invite = await request.app[MEMBERS].revoke_invite(
        int(request.match_info["invite_id"]), created_by=caller.member
    )
    return web.json_response(invite_to_api(invite))


@routes.post(r"/api/quartier/v1/members/{username}/vouch")
async def vouch(request: web.Request) -> web.Response:
    """The caller vouches that this member lives here; the member as they now stand."""
    return await _vouching(request, withdraw=False)


@routes.delete(r"/api/quartier/v1/members/{username}/vouch")
async def withdraw_vouch(request: web.Request) -> web.Response:
    """The caller takes their vouch back; the member as they now stand."""
    return await _vouching(request, withdraw=True)


async def _vouching(request: web.Request, *, withdraw: bool) -> web.Response:
    caller = await authenticate(request)
    member = await vouch_for(request, caller.member, request.match_info["username"], withdraw)
    uris = request.app[SETTINGS].uris
    return web.json_response(member_to_api(member, uris, private=caller.member.role.is_staff))


async def vouch_for(
    request: web.Request, voucher: Member, username: str, withdraw: bool = False
) -> Member:
    """``voucher`` vouches for the member ``username`` (or takes the vouch back): the one
    vouching the JSON API and the web pages use, with the same limit (429). 404 for an
    unknown member, 403 when the voucher may not vouch; the member as they now stand."""
    request.app[VERIFICATION_LIMITER].hit(f"vouch:{voucher.id}")
    member = await request.app[MEMBERS].get(username)
    service = request.app[VERIFICATION]
    change = service.withdraw_vouch if withdraw else service.vouch
    await change(voucher, member)
    await member.refresh_from_db()
    return member


@routes.get("/api/quartier/v1/verification")
async def verification_of_actors(request: web.Request) -> web.Response:
    """How neighbours are verified, here or by a node this one trusts: ``?actor=<id>``,
    repeated for up to 40 actors; those not verified are listed with ``"level": null``."""
    caller = await authenticate(request)
    actors = request.query.getall("actor", [])
    well_formed = all(len(a) <= 2048 and a.isprintable() and _ACTOR.fullmatch(a) for a in actors)
    if not actors or len(actors) > MAX_ACTORS or not well_formed:
        raise ValidationFailed(
            "invalid actor",
            details=[{"field": "actor", "message": f"1 to {MAX_ACTORS} actor ids"}],
        )
    settings = request.app[SETTINGS]
    remote = {a for a in actors if settings.uris.username_from_actor(a) is None}
    if remote:
        # Each lookup may fetch from other servers: counted per member.
        request.app[VERIFICATION_LIMITER].hit(f"lookup:{caller.member.id}")
        await request.app[TRUST].look_up(remote)
    shown = await verifications_of(
        actors, settings.uris, settings.community.name, request.app[TRUST]
    )
    return web.json_response(
        [{"actor": actor, **shown.get(actor, {"level": None})} for actor in dict.fromkeys(actors)]
    )


@routes.get("/api/quartier/v1/admin/endorsements")
async def list_endorsements(request: web.Request) -> web.Response:
    """The nodes this node (a municipality) endorses, with their credentials."""
    await require_role(request, Role.ADMIN)
    given = await request.app[CREDENTIALS].endorsements()
    return web.json_response([endorsement_to_api(credential) for credential in given])


@routes.post("/api/quartier/v1/admin/endorsements")
async def endorse(request: web.Request) -> web.Response:
    """Endorse a district node as an issuer of residency credentials for its community
    (``name`` and ``area`` exactly as that node states them); 201 with the endorsement."""
    await require_role(request, Role.ADMIN)
    body = await read_json(request, Endorsement)
    credential = await request.app[CREDENTIALS].endorse(body.node, body.name, body.area)
    return web.json_response(endorsement_to_api(credential), status=201)


@routes.delete("/api/quartier/v1/admin/endorsements")
async def end_endorsement(request: web.Request) -> web.Response:
    """Revoke the endorsement of ``?node=<actor id>``."""
    await require_role(request, Role.ADMIN)
    node = request.query.get("node", "")
    if not await request.app[CREDENTIALS].end_endorsement(node):
        raise NotFound("this node is not endorsed")
    return web.Response(status=204)


@routes.get("/api/quartier/v1/admin/verification/documents")
async def pending_documents(request: web.Request) -> web.Response:
    """Proofs of residence waiting for a decision, oldest first."""
    await require_role(request, Role.MANAGER)
    service = request.app[VERIFICATION]
    uris = request.app[SETTINGS].uris
    return web.json_response(
        [
            {
                **document_to_api(d, await service.filename_of(d)),
                "member": member_to_api(d.member, uris, private=True),
            }
            for d in await service.pending_documents()
        ]
    )


@routes.get(rf"/api/quartier/v1/admin/verification/documents/{_DOCUMENT}/file")
async def read_document(request: web.Request) -> web.Response:
    """The document itself, for a manager's eyes only: never cached, never run."""
    caller = await require_role(request, Role.MANAGER)
    return await document_response(request, int(request.match_info["document_id"]), caller.member)


async def document_response(request: web.Request, document_id: int, viewer: Member) -> web.Response:
    """A pending proof of residence decrypted for ``viewer`` (the view audited), as a download
    that is never cached, sniffed or run: the API's and the staff page's one response."""
    opened = await request.app[VERIFICATION].open_document(document_id, viewer)
    document = opened.document
    name = f"proof-of-residence-{document.id}.{EXTENSIONS[document.media_type]}"
    return web.Response(
        body=opened.data,
        headers={
            "Content-Type": document.media_type,
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@routes.post(rf"/api/quartier/v1/admin/verification/documents/{_DOCUMENT}/decision")
async def decide(request: web.Request) -> web.Response:
    """Approve or reject a proof of residence (a rejection says why); its file is deleted."""
    caller = await require_role(request, Role.MANAGER)
    body = await read_json(request, Decision)
    document = await request.app[VERIFICATION].decide(
        int(request.match_info["document_id"]),
        by=caller.member,
        approve=body.approve,
        reason=body.reason,
    )
    return web.json_response(document_to_api(document))


@routes.get("/api/quartier/v1/admin/verification/review")
async def review_list(request: web.Request) -> web.Response:
    """Members whose verification needs a manager's look, with why and since when."""
    await require_role(request, Role.MANAGER)
    uris = request.app[SETTINGS].uris
    members = await request.app[VERIFICATION].review_list()
    return web.json_response([member_to_api(m, uris, private=True) for m in members])


@routes.get("/api/quartier/v1/admin/verification/events")
async def events(request: web.Request) -> web.Response:
    """The verification audit trail, newest first (``?before=<id>`` for older ones)."""
    await require_role(request, Role.MANAGER)
    query = VerificationEvent.all().order_by("-id").limit(MAX_EVENTS)
    before = request.query.get("before")
    if before is not None:
        if not before.isdigit() or len(before) > 12:
            raise ValidationFailed(
                "invalid before", details=[{"field": "before", "message": "an event id"}]
            )
        query = query.filter(id__lt=int(before))
    rows = await query.select_related("by", "subject")
    return web.json_response([event_to_api(row) for row in rows])
