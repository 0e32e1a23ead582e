"""Residency credentials of other nodes, checked over the network by a real CredentialChecker.

What matters to users: a neighbour from another node is shown as a verified resident only when
the credential their actor links is genuine, current, about them, not revoked, and issued by
their own node, which this node trusts (configured, a partner, or endorsed by a trusted
municipality). Every forgery is refused with a reason an administrator can read in the logs,
and never breaks anything else; a node that is merely down is not taken for a forger.

The other nodes are real aiohttp applications on 127.0.0.1 (the outside world, faked): their
actors, members, credentials and revocation lists are built and signed with the protocol
layer, as a Quartier node would publish them. The checker, its resolver and its transport
are the node's own, with loopback allowed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import ed25519

from activitypub.actor_documents import ActorDocument
from activitypub.actors import ActorDescription, Residency, actor_document
from activitypub.attestations import (
    StatusEntry,
    endorsement_credential,
    residency_credential,
    sign_credential,
    status_list_credential,
)
from activitypub.errors import CredentialRejection
from activitypub.keys import ActorKeys, generate_actor_keys, load_private_key
from federation.dereference import ActorResolver
from federation.models import (
    CredentialCheck,
    Partnership,
    PartnershipState,
    RemoteCredential,
    StatusListCopy,
)
from federation.transport import Transport, TransportSettings, open_transport
from federation.trust import (
    CredentialChecker,
    RemoteResidency,
    TrustSettings,
    is_trusted_resident,
    trusted_residents,
)
from node.db import apply_migrations
from tests.conftest import POSTGRES_ADMIN_URL, FakeClock, scratch_database, will_migrate_first

LOCAL = TransportSettings(user_agent="test", allow_private=True, allow_http=True)
ISSUED = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)  # the fake clock starts 2026-11-26 12:00
UNTIL = datetime(2027, 11, 1, 9, 30, tzinfo=UTC)
COMMUNITY = "Croix-Rousse"
AREA = "Lyon 4e arrondissement"
VC = "application/vc"
ACTIVITY = "application/activity+json"
STATUS_PATH = "/credentials/status/revocation"
ENDORSEMENTS_PATH = "/credentials/endorsements"
REFRESH = timedelta(hours=1)
Reason = CredentialRejection


@pytest.fixture(scope="module")
def node_keys() -> ActorKeys:
    return generate_actor_keys()


@pytest.fixture(scope="module")
def anchor_keys() -> ActorKeys:
    return generate_actor_keys()


@pytest.fixture(scope="module")
def member_keys() -> ActorKeys:
    return generate_actor_keys()


def _signing_key(keys: ActorKeys) -> ed25519.Ed25519PrivateKey:
    key = load_private_key(keys.ed25519_private_pem)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return key


def signed(document: dict[str, Any], key: ed25519.Ed25519PrivateKey, key_id: str) -> dict[str, Any]:
    """Signed, then through JSON and back, as it travels."""
    return json.loads(json.dumps(sign_credential(document, key, key_id, ISSUED)))


@dataclass
class Raw:
    """An answer served as is: a status, or a body of bytes."""

    status: int = 200
    body: bytes = b""
    content_type: str = VC


class FakeNode:
    """Another node, as the network shows it: its Application actor (RSA and Ed25519 keys),
    members linking residency credentials, the credentials, its signed revocation list and,
    for a municipality, the endorsements it gave."""

    def __init__(self, keys: ActorKeys, member_keys: ActorKeys) -> None:
        self.keys = keys
        self.member_keys = member_keys
        self.key = _signing_key(keys)
        self.status_key = self.key  # who signs the revocation list
        self.base = ""
        self.server: TestServer | None = None
        self.links: dict[str, str] = {}  # username -> the credential their actor links
        self.documents: dict[str, dict[str, Any] | Raw] = {}  # path -> what is served
        self.revoked: set[int] = set()
        self.endorsements: list[dict[str, Any]] | None = None  # a municipality's
        self.hits: Counter[str] = Counter()
        self._next_index = 7

    # Names
    @property
    def actor(self) -> str:
        return f"{self.base}/actor"

    @property
    def key_id(self) -> str:
        return f"{self.actor}#ed25519-key"

    @property
    def status_list(self) -> str:
        return f"{self.base}{STATUS_PATH}"

    @property
    def host(self) -> str:
        return self.base.split("://", 1)[1]

    def member(self, username: str) -> str:
        return f"{self.base}/users/{username}"

    def index(self) -> int:
        self._next_index += 1
        return self._next_index

    # What it issues
    def unsigned_residency(
        self, subject: str, *, index: int | None = None, **changes: Any
    ) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "credential_id": f"{self.base}/credentials/{self.index()}",
            "issuer": self.actor,
            "subject": subject,
            "community_name": COMMUNITY,
            "community_area": AREA,
            "method": "document",
            "valid_from": ISSUED,
            "valid_until": UNTIL,
            "status": StatusEntry(self.status_list, self.index() if index is None else index),
        }
        return residency_credential(**{**arguments, **changes})

    def residency(
        self,
        subject: str,
        *,
        key: ed25519.Ed25519PrivateKey | None = None,
        key_id: str | None = None,
        **changes: Any,
    ) -> dict[str, Any]:
        unsigned = self.unsigned_residency(subject, **changes)
        return signed(unsigned, key or self.key, key_id or self.key_id)

    def endorse(
        self,
        node: FakeNode,
        *,
        key: ed25519.Ed25519PrivateKey | None = None,
        **changes: Any,
    ) -> dict[str, Any]:
        """An endorsement of ``node`` for the community its credentials name, published."""
        arguments: dict[str, Any] = {
            "credential_id": f"{self.base}/credentials/{self.index()}",
            "issuer": self.actor,
            "subject_node": node.actor,
            "community_name": COMMUNITY,
            "community_area": AREA,
            "valid_from": ISSUED,
            "valid_until": UNTIL,
            "status": StatusEntry(self.status_list, self.index()),
        }
        document = signed(
            endorsement_credential(**{**arguments, **changes}), key or self.key, self.key_id
        )
        self.endorsements = [*(self.endorsements or []), document]
        return document

    def publish(self, username: str, credential: dict[str, Any] | Raw) -> str:
        """``username``'s actor links ``credential``, served at /credentials/<username>."""
        path = f"/credentials/{username}"
        self.links[username] = f"{self.base}{path}"
        self.documents[path] = credential
        return self.member(username)

    def revocation_list(self) -> dict[str, Any]:
        unsigned = status_list_credential(
            list_id=self.status_list, issuer=self.actor, revoked=self.revoked, valid_from=ISSUED
        )
        return signed(unsigned, self.status_key, self.key_id)

    # Serving
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{path:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] += 1
        served = self.documents.get(path)
        if isinstance(served, Raw):
            return web.Response(
                status=served.status, body=served.body, content_type=served.content_type
            )
        if served is not None:
            return _json(served, VC)
        if path == "/actor":
            return _json(self._application(), ACTIVITY)
        if path.startswith("/users/"):
            return _json(self._person(path.removeprefix("/users/")), ACTIVITY)
        if path == STATUS_PATH:
            return _json(self.revocation_list(), VC)
        if path == ENDORSEMENTS_PATH and self.endorsements is not None:
            collection = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{self.base}{ENDORSEMENTS_PATH}",
                "type": "OrderedCollection",
                "totalItems": len(self.endorsements),
                "orderedItems": self.endorsements,
            }
            return _json(collection, ACTIVITY)
        raise web.HTTPNotFound()

    def _application(self) -> dict[str, Any]:
        endorsements = None if self.endorsements is None else f"{self.base}{ENDORSEMENTS_PATH}"
        return actor_document(
            self._description(self.actor, "Application", "node", self.keys, None, endorsements)
        )

    def _person(self, username: str) -> dict[str, Any]:
        link = self.links.get(username)
        residency = None if link is None else Residency(link, COMMUNITY, self.host)
        actor = self.member(username)
        return actor_document(
            self._description(actor, "Person", username, self.member_keys, residency, None)
        )

    def _description(
        self,
        actor: str,
        actor_type: str,
        username: str,
        keys: ActorKeys,
        residency: Residency | None,
        endorsements: str | None,
    ) -> ActorDescription:
        return ActorDescription(
            actor_id=actor,
            actor_type=actor_type,
            preferred_username=username,
            name=username.title(),
            summary="",
            inbox=f"{actor}/inbox",
            outbox=f"{actor}/outbox",
            followers=f"{actor}/followers",
            following=f"{actor}/following",
            shared_inbox=f"{self.base}/inbox",
            url=actor,
            published=ISSUED,
            rsa_public_pem=keys.rsa_public_pem,
            ed25519_multibase=keys.ed25519_multibase,
            residency=residency,
            endorsements=endorsements,
        )


def _json(document: dict[str, Any], media_type: str) -> web.Response:
    return web.Response(body=json.dumps(document).encode(), content_type=media_type)


# Fixtures


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite database migrated for the whole module: migrating takes seconds, a copy
    milliseconds."""
    path = tmp_path_factory.mktemp("trust") / "migrated.sqlite3"
    if not POSTGRES_ADMIN_URL:
        asyncio.run(apply_migrations(f"sqlite://{path}"))
    return path


@pytest.fixture
async def database_url(
    tmp_path: Path, migrated_sqlite: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """Each test's own database: a copy of the migrated one (``db`` finds nothing to apply),
    or a fresh PostgreSQL database when the suite runs on PostgreSQL."""
    if POSTGRES_ADMIN_URL:
        async with scratch_database(tmp_path, schema=will_migrate_first(request)) as url:
            yield url
        return
    shutil.copyfile(migrated_sqlite, tmp_path / "node.sqlite3")
    yield f"sqlite://{tmp_path / 'node.sqlite3'}"


NodeStarter = Callable[[ActorKeys], Awaitable[FakeNode]]


@pytest.fixture
async def start_node(aiohttp_server: Any, member_keys: ActorKeys) -> NodeStarter:
    async def start(keys: ActorKeys) -> FakeNode:
        node = FakeNode(keys, member_keys)
        node.server = await aiohttp_server(node.app())
        node.base = f"http://127.0.0.1:{node.server.port}"
        return node

    return start


@pytest.fixture
async def issuer(start_node: NodeStarter, node_keys: ActorKeys) -> FakeNode:
    """The members' node (Croix-Rousse), trusted by the checker unless a test says otherwise."""
    return await start_node(node_keys)


@pytest.fixture
async def anchor(start_node: NodeStarter, anchor_keys: ActorKeys) -> FakeNode:
    """Another node: a municipality, or simply a node of other members."""
    return await start_node(anchor_keys)


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    async with open_transport(LOCAL) as opened:
        yield opened


CheckerFactory = Callable[..., CredentialChecker]


@pytest.fixture
def make_checker(db: None, transport: Transport, clock: FakeClock) -> CheckerFactory:
    """A checker wired as the node wires it: the resolver tells it of every actor fetched."""

    def make(
        trusted: tuple[str, ...] = (),
        anchors: tuple[str, ...] = (),
        over: Transport | None = None,
    ) -> CredentialChecker:
        used = over or transport
        resolver = ActorResolver(used, clock)
        settings = TrustSettings(
            trusted_issuers=trusted, trust_anchors=anchors, status_refresh=REFRESH
        )
        checker = CredentialChecker(resolver, used, clock, settings)
        resolver.on_fetched = checker.actor_fetched
        return checker

    return make


@pytest.fixture
def checker(make_checker: CheckerFactory, issuer: FakeNode) -> CredentialChecker:
    return make_checker(trusted=(issuer.base,))


@pytest.fixture
def trust_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="federation.trust")
    return caplog


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "federation.trust" and record.levelno == logging.WARNING
    ]


async def credential_of(actor: str) -> RemoteCredential:
    return await RemoteCredential.get(kind="residency", subject=actor)


async def assert_not_believed(checker: CredentialChecker, actor: str, now: datetime) -> None:
    assert await checker.residencies([actor]) == {}
    assert not await is_trusted_resident(actor, now)
    assert actor not in await trusted_residents(now)


async def assert_refused(
    checker: CredentialChecker,
    caplog: pytest.LogCaptureFixture,
    clock: FakeClock,
    actor: str,
    reason: CredentialRejection,
    outcome: CredentialCheck = CredentialCheck.REJECTED,
) -> RemoteCredential:
    row = await credential_of(actor)
    assert (row.outcome, row.reason.split(":", 1)[0]) == (outcome, reason.value), row.reason
    logged = [m for m in warnings_of(caplog) if f"of {actor}: {reason.value}: " in m]
    assert logged, warnings_of(caplog)
    assert logged[0].startswith(f"refused the residency credential {row.url} of {actor}")
    # Looked at again only when the actor changes, or a day later.
    assert row.next_check_at == clock.now + timedelta(days=1)
    await assert_not_believed(checker, actor, clock.now)
    return row


# Genuine credentials


async def test_a_genuine_credential_of_a_trusted_node_is_believed(
    checker: CredentialChecker, issuer: FakeNode, clock: FakeClock, trust_log
):
    bea = issuer.publish("bea", issuer.residency(issuer.member("bea"), index=42))

    await checker.look_up([bea])

    row = await credential_of(bea)
    assert row.outcome is CredentialCheck.VALID, row.reason
    assert (row.reason, row.issuer, row.trusted_through) == ("", issuer.actor, None)
    assert (row.community_name, row.community_area, row.method) == (COMMUNITY, AREA, "document")
    assert (row.valid_from, row.valid_until) == (ISSUED, UNTIL)
    assert (row.status_list, row.status_index) == (issuer.status_list, 42)
    assert row.url == f"{issuer.base}/credentials/bea"
    assert (row.checked_at, row.next_check_at) == (clock.now, clock.now + REFRESH)
    assert await checker.residencies([bea, issuer.member("cyd")]) == {
        bea: RemoteResidency(
            community=COMMUNITY,
            area=AREA,
            method="document",
            issuer=issuer.actor,
            attested_by=issuer.host,
            trusted_through=None,
            valid_until=UNTIL,
            checked_at=clock.now,
        )
    }
    assert await is_trusted_resident(bea, clock.now)
    assert await trusted_residents(clock.now) == {bea}
    assert warnings_of(trust_log) == []
    copy = await StatusListCopy.get(url=issuer.status_list)
    assert (copy.issuer, copy.fetched_at) == (issuer.actor, clock.now)


async def test_an_active_partner_is_trusted_without_configuration(
    make_checker: CheckerFactory, issuer: FakeNode, clock: FakeClock
):
    await Partnership.create(
        peer_actor=issuer.actor,
        peer_host=issuer.host,
        peer_inbox=f"{issuer.base}/inbox",
        initiated_by_us=True,
        state=PartnershipState.ACTIVE,
        follow_activity_id=f"{issuer.base}/follows/1",
        follow_activity={},
        created_at=clock.now,
        updated_at=clock.now,
    )
    checker = make_checker()
    bea = issuer.publish("bea", issuer.residency(issuer.member("bea")))

    await checker.look_up([bea])

    assert (await credential_of(bea)).outcome is CredentialCheck.VALID
    assert await is_trusted_resident(bea, clock.now)


async def test_a_revocation_is_seen_at_the_next_status_list_refresh(
    checker: CredentialChecker, issuer: FakeNode, clock: FakeClock, trust_log
):
    bea = issuer.publish("bea", issuer.residency(issuer.member("bea"), index=42))
    await checker.look_up([bea])
    assert (await credential_of(bea)).outcome is CredentialCheck.VALID

    issuer.revoked.add(42)
    clock.advance(minutes=30)
    assert await checker.run_once() == 0  # not due: the list we hold is still fresh
    assert await is_trusted_resident(bea, clock.now)
    clock.advance(minutes=31)
    assert await checker.run_once() == 1

    await assert_refused(checker, trust_log, clock, bea, Reason.REVOKED)
    assert issuer.hits[STATUS_PATH] == 2


async def test_the_status_list_is_fetched_once_per_refresh_for_all_members(
    checker: CredentialChecker, issuer: FakeNode, clock: FakeClock
):
    members = [
        issuer.publish(name, issuer.residency(issuer.member(name)))
        for name in ("bea", "cyd", "dan", "eve")
    ]

    await checker.look_up(members)

    assert await trusted_residents(clock.now) == set(members)
    assert issuer.hits[STATUS_PATH] == 1
    assert issuer.hits["/actor"] == 1  # the issuer's key, fetched once too

    clock.advance(minutes=61)
    assert await checker.run_once() == len(members)
    assert await trusted_residents(clock.now) == set(members)
    assert issuer.hits[STATUS_PATH] == 2
    for name in ("bea", "cyd", "dan", "eve"):
        assert issuer.hits[f"/credentials/{name}"] == 2


async def test_a_credential_is_checked_again_when_it_ends_and_found_expired(
    checker: CredentialChecker, issuer: FakeNode, clock: FakeClock, trust_log
):
    ends = clock.now + timedelta(minutes=20)
    bea = issuer.publish("bea", issuer.residency(issuer.member("bea"), valid_until=ends))
    await checker.look_up([bea])
    row = await credential_of(bea)
    assert (row.outcome, row.next_check_at) == (CredentialCheck.VALID, ends)

    clock.advance(minutes=20)
    # Not believed past validUntil, even before the checker looks again.
    await assert_not_believed(checker, bea, clock.now)
    assert await checker.run_once() == 1
    await assert_refused(checker, trust_log, clock, bea, Reason.EXPIRED)


# Forgeries and refusals: each served by the members' node, and refused with its reason.

OTHER_KEY = ed25519.Ed25519PrivateKey.generate()


def wrong_key(node: FakeNode, bea: str) -> dict[str, Any]:
    # Signed by another key than the one the issuer publishes, naming the issuer's key.
    return node.residency(bea, key=OTHER_KEY)


def changed(path: tuple[str, ...], value: Any) -> Callable[[FakeNode, str], dict[str, Any]]:
    """Bea's genuine credential, one member changed after it was signed."""

    def forge(node: FakeNode, bea: str) -> dict[str, Any]:
        document = node.residency(bea)
        target = document
        for name in path[:-1]:
            target = target[name]
        target[path[-1]] = value
        return document

    return forge


def subject_changed(node: FakeNode, bea: str) -> dict[str, Any]:
    # A neighbour's genuine credential, its subject changed to bea after it was signed.
    document = node.residency(node.member("other"))
    document["credentialSubject"]["id"] = bea
    return document


def expired(node: FakeNode, bea: str) -> dict[str, Any]:
    return node.residency(
        bea,
        valid_from=datetime(2025, 11, 1, tzinfo=UTC),
        valid_until=datetime(2026, 11, 1, tzinfo=UTC),
    )


def not_yet_valid(node: FakeNode, bea: str) -> dict[str, Any]:
    return node.residency(bea, valid_from=datetime(2026, 12, 1, tzinfo=UTC))


def about_someone_else(node: FakeNode, bea: str) -> dict[str, Any]:
    # Genuine, but about /users/other: bea links a neighbour's credential.
    return node.residency(node.member("other"))


def copied_proof(node: FakeNode, bea: str) -> dict[str, Any]:
    genuine = node.residency(node.member("other"))
    forged = node.unsigned_residency(bea, method="manager")
    forged["proof"] = genuine["proof"]
    return forged


def revoked(node: FakeNode, bea: str) -> dict[str, Any]:
    node.revoked.add(1234)
    return node.residency(bea, index=1234)


def list_signed_by_another_key(node: FakeNode, bea: str) -> dict[str, Any]:
    node.status_key = OTHER_KEY
    return node.residency(bea)


def gone(node: FakeNode, bea: str) -> Raw:
    return Raw(status=410, body=b"Gone", content_type="text/plain")


def nested(node: FakeNode, bea: str) -> Raw:
    # A credential whose subject carries a member nested 1,000 levels deep.
    text = json.dumps(node.residency(bea))
    deep = "[" * 1000 + "]" * 1000
    return Raw(body=(text[:-1] + f', "nested": {deep}}}').encode())


FORGERIES = {
    "wrong key": (wrong_key, Reason.BAD_PROOF),
    "community name changed": (
        changed(("credentialSubject", "community", "name"), "Presqu'île"),
        Reason.BAD_PROOF,
    ),
    "validUntil changed": (changed(("validUntil",), "2036-11-01T09:30:00Z"), Reason.BAD_PROOF),
    "subject id changed": (subject_changed, Reason.BAD_PROOF),
    "expired": (expired, Reason.EXPIRED),
    "not yet valid": (not_yet_valid, Reason.NOT_YET_VALID),
    "about someone else": (about_someone_else, Reason.SUBJECT_MISMATCH),
    "proof copied from another credential": (copied_proof, Reason.BAD_PROOF),
    "revoked": (revoked, Reason.REVOKED),
    "status list signed by another key": (list_signed_by_another_key, Reason.BAD_PROOF),
    "410 gone": (gone, Reason.REVOKED),
    "nested 1,000 deep": (nested, Reason.TOO_LARGE),
}


@pytest.mark.parametrize(("forge", "reason"), FORGERIES.values(), ids=FORGERIES.keys())
async def test_a_forged_or_void_credential_is_refused_with_its_reason(
    checker: CredentialChecker,
    issuer: FakeNode,
    clock: FakeClock,
    trust_log: pytest.LogCaptureFixture,
    forge: Callable[[FakeNode, str], dict[str, Any] | Raw],
    reason: CredentialRejection,
):
    bea = issuer.publish("bea", forge(issuer, issuer.member("bea")))

    await checker.look_up([bea])

    await assert_refused(checker, trust_log, clock, bea, reason)


async def test_a_status_list_that_fails_its_proof_is_not_kept(
    checker: CredentialChecker, issuer: FakeNode, clock: FakeClock, trust_log
):
    bea = issuer.publish("bea", list_signed_by_another_key(issuer, issuer.member("bea")))
    cyd = issuer.publish("cyd", issuer.residency(issuer.member("cyd")))

    await checker.look_up([bea, cyd])

    assert await StatusListCopy.get_or_none(url=issuer.status_list) is None
    assert issuer.hits[STATUS_PATH] == 2  # asked again for cyd: nothing believed was kept
    await assert_refused(checker, trust_log, clock, cyd, Reason.BAD_PROOF)


async def test_a_credential_signed_by_a_member_of_the_trusted_node_is_not_the_nodes_word(
    checker: CredentialChecker, issuer: FakeNode, clock: FakeClock, trust_log
):
    # Mallory, a member of the trusted node, signs a credential for herself with her own
    # Ed25519 key (every actor publishes one) and her own revocation list. Credentials are
    # the node's word, signed by its Application actor: a member's key is not the issuer's.
    mallory = issuer.member("mallory")
    mallory_key, mallory_key_id = _signing_key(issuer.member_keys), f"{mallory}#ed25519-key"
    own_list = f"{mallory}/revocation"
    issuer.documents["/users/mallory/revocation"] = signed(
        status_list_credential(list_id=own_list, issuer=mallory, revoked=[], valid_from=ISSUED),
        mallory_key,
        mallory_key_id,
    )
    issuer.publish(
        "mallory",
        issuer.residency(
            mallory,
            issuer=mallory,
            key=mallory_key,
            key_id=mallory_key_id,
            status=StatusEntry(own_list, 3),
        ),
    )

    await checker.look_up([mallory])

    row = await credential_of(mallory)
    refused = (CredentialCheck.REJECTED, CredentialCheck.UNTRUSTED)
    assert row.outcome in refused, f"{row.outcome.value}: issued by {row.issuer}"
    await assert_not_believed(checker, mallory, clock.now)


async def test_a_genuine_credential_of_an_untrusted_node_is_untrusted(
    make_checker: CheckerFactory, issuer: FakeNode, clock: FakeClock, trust_log
):
    checker = make_checker(trusted=("http://127.0.0.1:1",))
    bea = issuer.publish("bea", issuer.residency(issuer.member("bea")))

    await checker.look_up([bea])

    row = await credential_of(bea)
    assert row.outcome is CredentialCheck.UNTRUSTED, row.reason
    assert issuer.actor in row.reason
    assert [m for m in warnings_of(trust_log) if f"of {bea}: " in m and issuer.actor in m]
    assert row.next_check_at == clock.now + timedelta(days=1)
    await assert_not_believed(checker, bea, clock.now)


async def test_a_node_cannot_attest_a_member_of_another_node(
    make_checker: CheckerFactory, issuer: FakeNode, anchor: FakeNode, clock: FakeClock, trust_log
):
    # Bea's actor links a credential the other node genuinely issued (both nodes trusted).
    checker = make_checker(trusted=(issuer.base, anchor.base))
    bea = issuer.publish("bea", anchor.residency(issuer.member("bea")))

    await checker.look_up([bea])

    await assert_refused(checker, trust_log, clock, bea, Reason.ISSUER_MISMATCH)


@pytest.mark.parametrize("limit", ["transport", "reader"])
async def test_a_credential_of_5_mb_is_refused_unread(
    make_checker: CheckerFactory,
    issuer: FakeNode,
    clock: FakeClock,
    trust_log: pytest.LogCaptureFixture,
    limit: str,
):
    document = issuer.residency(issuer.member("bea"))
    document["credentialSubject"]["note"] = "x" * (5 << 20)
    bea = issuer.publish("bea", Raw(body=json.dumps(document).encode()))
    if limit == "transport":  # the node's transport, as configured by default (1 MiB)
        checker = make_checker(trusted=(issuer.base,))
        await checker.look_up([bea])
        row = await credential_of(bea)
    else:  # a node configured to take larger answers: the reader's own limit refuses it
        big = replace(LOCAL, max_response_bytes=8 << 20)
        async with open_transport(big) as transport:
            checker = make_checker(trusted=(issuer.base,), over=transport)
            await checker.look_up([bea])
        row = await assert_refused(checker, trust_log, clock, bea, Reason.TOO_LARGE)

    assert row.outcome is not CredentialCheck.VALID
    assert row.reason.startswith(("too_large: ", "unreachable: ")), row.reason
    await assert_not_believed(checker, bea, clock.now)


# A node that is down is not a forger


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_issuer_leaves_the_credential_pending_and_tries_again_soon(
    checker: CredentialChecker, clock: FakeClock, trust_log
):
    base = f"http://127.0.0.1:{closed_port()}"
    bea = f"{base}/users/bea"
    await checker.actor_fetched(
        ActorDocument(
            actor_id=bea,
            actor_type="Person",
            inbox=f"{bea}/inbox",
            shared_inbox=None,
            preferred_username="bea",
            residency_credential=f"{base}/credentials/bea",
        )
    )

    assert await checker.run_once() == 1

    row = await credential_of(bea)
    assert row.outcome is CredentialCheck.PENDING
    assert row.reason.startswith("unreachable"), row.reason
    assert row.next_check_at == clock.now + timedelta(minutes=10)
    assert warnings_of(trust_log) == []
    await assert_not_believed(checker, bea, clock.now)


async def test_a_believed_credential_stays_believed_while_its_node_is_down(
    checker: CredentialChecker, issuer: FakeNode, clock: FakeClock, trust_log
):
    bea = issuer.publish("bea", issuer.residency(issuer.member("bea")))
    await checker.look_up([bea])
    assert issuer.server is not None
    await issuer.server.close()

    clock.advance(minutes=61)
    assert await checker.run_once() == 1

    row = await credential_of(bea)
    assert row.outcome is CredentialCheck.VALID
    assert row.reason.startswith("unreachable"), row.reason
    assert row.next_check_at == clock.now + timedelta(minutes=10)
    assert warnings_of(trust_log) == []
    assert await is_trusted_resident(bea, clock.now)


# Trusted through a municipality's endorsement


async def test_a_node_endorsed_by_a_trust_anchor_is_believed_through_it(
    make_checker: CheckerFactory, issuer: FakeNode, anchor: FakeNode, clock: FakeClock, trust_log
):
    anchor.endorse(issuer)
    checker = make_checker(anchors=(anchor.base,))
    bea = issuer.publish("bea", issuer.residency(issuer.member("bea")))

    await checker.look_up([bea])

    row = await credential_of(bea)
    assert row.outcome is CredentialCheck.VALID, row.reason
    assert (row.issuer, row.trusted_through) == (issuer.actor, anchor.actor)
    [shown] = (await checker.residencies([bea])).values()
    assert (shown.trusted_through, shown.attested_by) == (anchor.actor, issuer.host)
    assert await is_trusted_resident(bea, clock.now)
    assert warnings_of(trust_log) == []
    assert anchor.hits[STATUS_PATH] == 1  # the endorsement's own revocation bit was read


async def test_a_municipality_that_is_down_does_not_make_the_nodes_it_endorses_untrusted(
    make_checker: CheckerFactory, issuer: FakeNode, anchor: FakeNode, clock: FakeClock, trust_log
):
    # As for an issuer that is down: not the municipality's word, so what was known is kept
    # and asked again soon (not taken back for a day).
    anchor.endorse(issuer)
    checker = make_checker(anchors=(anchor.base,))
    bea = issuer.publish("bea", issuer.residency(issuer.member("bea")))
    await checker.look_up([bea])
    assert (await credential_of(bea)).trusted_through == anchor.actor
    assert anchor.server is not None
    await anchor.server.close()

    clock.advance(minutes=61)
    assert await checker.run_once() == 1

    row = await credential_of(bea)
    assert (row.outcome, row.trusted_through) == (CredentialCheck.VALID, anchor.actor), row.reason
    assert row.reason.startswith("unreachable"), row.reason
    assert row.next_check_at == clock.now + timedelta(minutes=10)
    assert warnings_of(trust_log) == []
    assert await is_trusted_resident(bea, clock.now)


def endorsed_with_another_key(anchor: FakeNode, node: FakeNode) -> None:
    anchor.endorse(node, key=OTHER_KEY)


def endorsed_for_another_community(anchor: FakeNode, node: FakeNode) -> None:
    anchor.endorse(node, community_name="Presqu'île")


def endorsement_revoked(anchor: FakeNode, node: FakeNode) -> None:
    document = anchor.endorse(node)
    anchor.revoked.add(int(document["credentialStatus"]["statusListIndex"]))


ENDORSEMENT_FORGERIES = {
    "signed by another key": (endorsed_with_another_key, Reason.BAD_PROOF),
    "for another community": (endorsed_for_another_community, Reason.COMMUNITY_MISMATCH),
    "revoked": (endorsement_revoked, Reason.REVOKED),
}


@pytest.mark.parametrize(
    ("forge", "reason"), ENDORSEMENT_FORGERIES.values(), ids=ENDORSEMENT_FORGERIES.keys()
)
async def test_a_forged_or_void_endorsement_leaves_the_issuer_untrusted(
    make_checker: CheckerFactory,
    issuer: FakeNode,
    anchor: FakeNode,
    clock: FakeClock,
    trust_log: pytest.LogCaptureFixture,
    forge: Callable[[FakeNode, FakeNode], None],
    reason: CredentialRejection,
):
    forge(anchor, issuer)
    checker = make_checker(anchors=(anchor.base,))
    bea = issuer.publish("bea", issuer.residency(issuer.member("bea")))

    await checker.look_up([bea])

    row = await credential_of(bea)
    assert (row.outcome, row.trusted_through) == (CredentialCheck.UNTRUSTED, None), row.reason
    refused = f"refused an endorsement of {issuer.actor} by {anchor.actor}: {reason.value}: "
    assert [m for m in warnings_of(trust_log) if m.startswith(refused)], warnings_of(trust_log)
    await assert_not_believed(checker, bea, clock.now)
