"""``create_app``: the one place where the node is wired together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TypeVar

from aiohttp import web

from federation import wakeups
from federation.dereference import ActorResolver
from federation.dispatch import Dispatcher
from federation.ingest import InboxLoad, InboxWriter
from federation.outbound import DeliveryWorker
from federation.peers import Partnerships
from federation.policy import FederationPolicy
from federation.signing import SchemeMemory
from federation.transport import TransportSettings, open_transport
from federation.trust import CredentialChecker, TrustSettings
from federation.worker import InboundWorker, poll_loop
from moderation.blocks import DomainBlocks
from moderation.errors import PolicyError
from moderation.policy_store import PolicyStore
from moderation.restrictions import ActorRestrictions
from node import __version__
from node.actors.remote import RemoteActorEvents
from node.actors.render import instance_username
from node.actors.service import SigningKeys, ensure_instance_actor, sign_fetches
from node.circles.received import CircleInbox
from node.circles.service import CircleService
from node.clock import Clock, utc_now
from node.config import Settings, parse_policy, policy_values
from node.conversations.service import ConversationService
from node.db import activated, open_database, require_current_schema, shares_queues
from node.errors import ConfigError
from node.federated import FederatedService
from node.follows.service import FollowService
from node.groups.models import NEIGHBOURHOOD
from node.groups.service import GroupService, ensure_group
from node.http import (
    accounts,
    actors,
    admin,
    blocks,
    circles,
    conversations,
    credentials,
    discovery,
    filters,
    follows,
    governance,
    health,
    inbox,
    listings,
    media,
    moderation,
    notes,
    notices,
    notifications,
    oauth,
    open311,
    partnerships,
    problems,
    relations,
    reports,
    rights,
    saved_searches,
    verification,
)
from node.http.actors import INSTANCE_ACTOR_KEY
from node.http.doc_cache import DocumentCache
from node.http.keys import (
    ACTOR_DOCUMENTS,
    APPEALS,
    CIRCLES,
    CLOCK,
    CONTENT,
    CONVERSATIONS,
    CREDENTIALS,
    DATABASE,
    DELIVERY_WORKER,
    DIRECTORY,
    DISPATCHER,
    ERASER,
    EXPORTER,
    FEDERATION_POLICY,
    FOLLOWS,
    GOVERNANCE,
    GROUPS,
    HELD,
    INBOUND_WORKER,
    INBOX_LOAD,
    INBOX_WRITER,
    LISTINGS,
    LOGIN_LIMITER,
    MEDIA,
    MEMBERS,
    MODERATION,
    NOTICES,
    NOTIFICATIONS,
    OAUTH,
    OPEN311_KEYS,
    PARTNERSHIPS,
    PROBLEMS,
    RELATIONS,
    REPORTS,
    RESOLVER,
    RETENTION,
    SAVED_SEARCHES,
    SERVES_DOCUMENTS,
    SETTINGS,
    STATUSES,
    STREAMS,
    TIMELINES,
    TRANSPORT,
    TRUST,
    VERIFICATION,
    VERIFICATION_LIMITER,
    VISITOR_LIMITER,
)
from node.http.mastodon import accounts as mastodon_accounts
from node.http.mastodon import announcements as mastodon_announcements
from node.http.mastodon import instance as mastodon_instance
from node.http.mastodon import media as mastodon_media
from node.http.mastodon import notifications as mastodon_notifications
from node.http.mastodon import statuses as mastodon_statuses
from node.http.mastodon import streaming as mastodon_streaming
from node.http.mastodon.common import RENDERER
from node.http.mastodon.limits import API_LIMITER, LIMIT, WINDOW, rate_limit
from node.http.middleware import database, discovery_cors, json_errors, request_context
from node.http.server_log import ParserErrorLog
from node.listings.federation import ListingFederation
from node.listings.models import Listing
from node.listings.received import ReceivedListings, ReceivedResponses
from node.listings.saved import SavedSearches
from node.listings.service import ListingService
from node.mastodon.entities import Renderer
from node.mastodon.live import LiveNotifications, LiveStatuses
from node.mastodon.notifications import NotificationRenderer
from node.mastodon.streaming import StreamHub
from node.media.service import MediaService
from node.media.storage import MediaFiles
from node.members.service import MemberService
from node.moderation.appeals import AppealService
from node.moderation.held import HeldContent
from node.moderation.reports import ReportService
from node.moderation.safety import ContentGuard, Creation
from node.moderation.service import ModerationService
from node.notices.directory import Directory
from node.notices.service import NoticeService
from node.notifications.service import NotificationService
from node.oauth.service import OAuthService
from node.problems.open311 import Open311Keys
from node.problems.service import ProblemService
from node.ratelimit import SlidingWindowLimiter
from node.relations.service import RelationService
from node.retention import RetentionJob
from node.rights.erasure import Eraser
from node.rights.export import Exporter
from node.statuses.index import StatusIndex
from node.statuses.posting import StatusService
from node.statuses.received import ReceivedStatuses
from node.statuses.service import Timelines
from node.verification.credentials import CredentialIssuer
from node.verification.service import VerificationService
from node.verification.vault import DocumentKeyError, DocumentVault, load_key
from node.web import security_headers, setup_web

Service = TypeVar("Service", bound=FederatedService)
log = logging.getLogger(__name__)

VISITOR_READS_PER_MINUTE = 120


def create_app(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    run_worker: bool = True,
    serves_documents: bool = True,
) -> web.Application:
    """Build the node's web application. Start-up opens the database (refusing an unmigrated
    schema), ensures the node's own actor exists, opens the outbound transport and, with
    ``run_worker``, starts the inbound worker in the background (tests leave it off and call
    ``app[INBOUND_WORKER].run_once()`` to drive it deterministically). A process that
    ``serves_documents`` (``serve``, not an extra ``worker``) refuses to start without the
    document key."""
    app = web.Application(
        client_max_size=settings.server.max_body_bytes,
        middlewares=[
            request_context,
            discovery_cors,
            rate_limit,
            json_errors,
            security_headers,
            database,
        ],
        # Requests aiohttp's parser refuses never reach the middlewares: see server_log.
        handler_args={"logger": ParserErrorLog()},
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[SERVES_DOCUMENTS] = serves_documents
    accounts_cfg = settings.accounts
    app[MEMBERS] = member_service(settings, clock)
    app[LOGIN_LIMITER] = SlidingWindowLimiter(
        accounts_cfg.login_max_attempts, accounts_cfg.login_window_seconds, clock
    )
    # A neighbour browsing never comes near it; a scraper's loop does.
    app[VISITOR_LIMITER] = SlidingWindowLimiter(VISITOR_READS_PER_MINUTE, 60, clock)
    app[CONTENT] = ContentGuard(settings.content, clock)
    app[ACTOR_DOCUMENTS] = DocumentCache()
    app[FEDERATION_POLICY] = federation_policy(settings, clock)
    app[GOVERNANCE] = app[FEDERATION_POLICY].governance
    app[DISPATCHER] = Dispatcher()
    app[INBOX_LOAD] = InboxLoad()
    app[INBOUND_WORKER] = InboundWorker(
        app[DISPATCHER],
        clock,
        refuse=app[FEDERATION_POLICY].refuse_processing,
        load=app[INBOX_LOAD],
    )
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_transport)
    if run_worker:
        app.cleanup_ctx.append(_background_worker)
    app[OAUTH] = OAuthService(clock)
    app[STREAMS] = StreamHub()
    app[API_LIMITER] = SlidingWindowLimiter(LIMIT, WINDOW, clock)
    app[TIMELINES] = Timelines(settings.uris)
    app[RENDERER] = Renderer(settings)
    app[TIMELINES].listeners.append(LiveStatuses(app[STREAMS], app[RENDERER], settings.uris))
    app.on_shutdown.append(app[STREAMS].on_shutdown)
    # A revoked session's live streams end with it (a sweep catches the others in a minute).
    app[MEMBERS].sessions_ended.append(app[STREAMS].close_sessions)
    app[OAUTH].sessions_ended.append(app[STREAMS].close_sessions)
    app[NOTIFICATIONS] = NotificationService(
        settings.uris, clock, silenced=app[FEDERATION_POLICY].silenced
    )
    app[TIMELINES].notifications = app[NOTIFICATIONS]
    app[NOTIFICATIONS].created.append(
        LiveNotifications(
            app[STREAMS],
            NotificationRenderer(
                app[RENDERER], settings.uris, (settings.community.languages or ("en",))[0]
            ),
        )
    )
    app[EXPORTER] = Exporter(settings.uris, settings.media_path, clock)
    app[SAVED_SEARCHES] = SavedSearches(settings.uris, clock, app[NOTIFICATIONS])
    app[CREDENTIALS] = CredentialIssuer(
        settings.uris,
        clock,
        settings.community,
        settings.verification,
        queued=lambda: _wake_deliveries(app),
        actor_changed=lambda username: _actor_changed(app, username),
    )
    # 30 of each per member and hour: plenty for a person, a wall for a script churning
    # credentials or making the node fetch from other servers.
    app[VERIFICATION_LIMITER] = SlidingWindowLimiter(30, 3600, clock)
    app[VERIFICATION] = verification_service(settings, clock, app[NOTIFICATIONS], app[CREDENTIALS])
    routes = (
        health,
        discovery,
        actors,
        inbox,
        accounts,
        follows,
        conversations,
        admin,
        media,
        oauth,
    )
    features = (notes, notices, partnerships, blocks, listings, notifications, saved_searches)
    pages = (
        verification,
        credentials,
        governance,
        reports,
        moderation,
        filters,
        rights,
        relations,
    )
    # Problem reports and the Open311 GeoReport v2 API over them (docs/problems.md).
    app[OPEN311_KEYS] = Open311Keys(clock)
    problem_routes = (problems, open311)
    for module in (*routes, *features, *pages, *problem_routes):
        app.router.add_routes(module.routes)
    app.router.add_routes(circles.routes)
    for module in MASTODON_ROUTES:
        app.router.add_routes(module.routes)
    setup_web(app)  # the pages for browsers (docs/web.md)
    return app


# The Mastodon client API (docs/client-api.md).
MASTODON_ROUTES = (
    mastodon_instance,
    mastodon_accounts,
    mastodon_statuses,
    mastodon_notifications,
    mastodon_media,
    mastodon_announcements,
    mastodon_streaming,
)


def _wake_deliveries(app: web.Application) -> None:
    if DELIVERY_WORKER in app:  # from start-up on (the CLI has no worker to wake)
        app[DELIVERY_WORKER].wake()


def _actor_changed(app: web.Application, username: str) -> None:
    """A member's actor document (or, for "", the node's) changed: serve the new one."""
    app[ACTOR_DOCUMENTS].invalidate(username or INSTANCE_ACTOR_KEY)


async def _verification_sweep(app: web.Application) -> int:
    credentials = app[CREDENTIALS]
    swept = await app[VERIFICATION].sweep() + await credentials.renew_due()
    return swept + await credentials.issue_missing()


def member_service(settings: Settings, clock: Clock) -> MemberService:
    """The member service as configured (shared by the web app and the CLI)."""
    return MemberService(
        clock,
        invite_ttl=timedelta(hours=settings.accounts.invite_ttl_hours),
        session_ttl=timedelta(days=settings.accounts.session_ttl_days),
        # On a host without dots the node actor's handle could look like a username.
        reserved_usernames=frozenset({instance_username(settings.uris), NEIGHBOURHOOD}),
    )


def verification_service(
    settings: Settings,
    clock: Clock,
    notifications: NotificationService | None = None,
    credentials: CredentialIssuer | None = None,
) -> VerificationService:
    """The verification service as configured (shared by the web app and the CLI's residents
    import): every verification, the CLI's included, issues a credential and tells partners."""
    issuer = credentials or CredentialIssuer(
        settings.uris, clock, settings.community, settings.verification
    )
    return VerificationService(
        clock,
        settings.verification,
        DocumentVault(settings.documents_path, settings.document_key_path),
        notifications or NotificationService(settings.uris, clock),
        changed=issuer.member_changed,
    )


def federation_policy(settings: Settings, clock: Clock) -> FederationPolicy:
    """The community's federation policy as configured (shared by the web app and the CLI).

    Its block cache lives in this object: each process has its own, reloaded at most 30 s
    after another process changed the blocks.
    """
    return FederationPolicy(
        PolicyStore(policy_values(settings), parse_policy, clock),
        DomainBlocks(settings.uris.domain, clock),
        settings.uris.instance_actor,
        ActorRestrictions(clock),
    )


async def _database(app: web.Application) -> AsyncIterator[None]:
    async with open_database(app[SETTINGS].database_url) as ctx:
        await require_current_schema(ctx)
        try:
            # With the schema, as 'quartier migrate' makes both: uploads would fail later.
            if app[SERVES_DOCUMENTS]:
                load_key(app[SETTINGS].document_key_path)
        except DocumentKeyError as exc:
            raise ConfigError(str(exc)) from None
        with activated(ctx):
            try:
                await app[GOVERNANCE].reload()
            except PolicyError as exc:
                raise ConfigError(str(exc)) from None
            await ensure_instance_actor()
            await ensure_group()
        app[DATABASE] = ctx
        app[INBOX_WRITER] = InboxWriter()
        yield
        with activated(ctx):
            await app[INBOX_WRITER].close()  # what the inbox already accepted gets committed


async def _background_worker(app: web.Application) -> AsyncIterator[None]:
    stop = asyncio.Event()
    # Created inside the node's ORM context, so the tasks (which copy the context) use it.
    listener = None
    with activated(app[DATABASE]):
        if not shares_queues(app[SETTINGS].database_url):
            await _release_dead_leases(app)
        else:  # work queued by other processes wakes these workers (federation/wakeups.py)
            listener = wakeups.Listener(
                app[SETTINGS].database_url,
                {
                    wakeups.INBOUND: app[INBOUND_WORKER].wake,
                    wakeups.DELIVERIES: app[DELIVERY_WORKER].wake,
                },
            )
            await listener.start()
        tasks = [
            asyncio.create_task(app[INBOUND_WORKER].run(stop), name="inbound-worker"),
            asyncio.create_task(app[DELIVERY_WORKER].run(stop), name="delivery-worker"),
            asyncio.create_task(
                poll_loop(app[RETENTION].run_total, asyncio.Event(), stop, 3600, "retention"),
                name="retention",
            ),
            asyncio.create_task(
                poll_loop(app[LISTINGS].sweep, asyncio.Event(), stop, 60, "listings"),
                name="listings",
            ),
            asyncio.create_task(
                app[MEDIA].purge_periodically(stop, timedelta(hours=1)), name="media-purge"
            ),
            asyncio.create_task(
                poll_loop(
                    lambda: _verification_sweep(app), asyncio.Event(), stop, 300, "verification"
                ),
                name="verification",
            ),
            asyncio.create_task(
                poll_loop(app[TRUST].run_once, asyncio.Event(), stop, 60, "credentials"),
                name="credential-checks",
            ),
        ]
    yield
    stop.set()
    await asyncio.gather(*tasks)
    if listener is not None:
        await listener.close()


async def _release_dead_leases(app: web.Application) -> None:
    """On SQLite this process runs the node's only worker: a lease still held was taken by an
    earlier process that died (``kill -9``, power loss), so its rows are taken up now rather
    than when the lease ends. (On PostgreSQL a lease may be a live process's: it is kept.)"""
    inbound = await app[INBOUND_WORKER].release_leases()
    deliveries = await app[DELIVERY_WORKER].release_leases()
    if inbound or deliveries:
        log.info(
            "took over the work of a process that stopped abruptly: "
            "%d inbound activities, %d deliveries",
            inbound,
            deliveries,
        )


def trust_settings(settings: Settings) -> TrustSettings:
    """Whose residency credentials this node believes, as configured."""
    verification = settings.verification
    return TrustSettings(
        trusted_issuers=verification.trusted_issuers,
        trust_anchors=verification.trust_anchors,
        status_refresh=timedelta(minutes=verification.status_refresh_minutes),
    )


def transport_settings(settings: Settings) -> TransportSettings:
    """Outbound transport as configured (shared by the web app and the CLI)."""
    federation = settings.federation
    return TransportSettings(
        user_agent=f"Quartier/{__version__} (+{settings.server.base_url})",
        total_timeout=federation.request_timeout_seconds,
        max_response_bytes=federation.max_response_bytes,
        allow_private=federation.local_testing,
        allow_http=federation.local_testing,
    )


async def _transport(app: web.Application) -> AsyncIterator[None]:
    settings = transport_settings(app[SETTINGS])
    async with open_transport(settings) as transport:
        app[TRANSPORT] = transport
        app[RESOLVER] = ActorResolver(transport, app[CLOCK])
        app[TRUST] = CredentialChecker(
            app[RESOLVER], transport, app[CLOCK], trust_settings(app[SETTINGS])
        )
        app[RESOLVER].on_fetched = app[TRUST].actor_fetched
        keys = SigningKeys(app[SETTINGS].uris)
        # Which signature each peer takes (RFC 9421 Ed25519 or draft-cavage), for GETs and
        # deliveries alike (federation/signing.py).
        schemes = SchemeMemory(transport, app[CLOCK])
        sign_fetches(transport, app[SETTINGS].uris, keys, app[CLOCK], schemes)
        policy = app[FEDERATION_POLICY]
        remote_actors = RemoteActorEvents(app[RESOLVER])
        remote_actors.register(app[DISPATCHER])
        app[TRUST].register(app[DISPATCHER])  # after the refetch of the updated actor
        # Asked before every send: blocks, the mode and ended partnerships stop queued rows too.
        app[DELIVERY_WORKER] = DeliveryWorker(
            transport,
            keys,
            app[CLOCK],
            refuse=policy.refuse_deliveries,
            on_gone=remote_actors.on_gone,
            schemes=schemes,
            ed25519_keys=keys.ed25519,
        )

        def federated(service: type[Service]) -> Service:
            # The members' services share one wiring: network, policy, the delivery worker.
            return service(
                app[SETTINGS].uris,
                app[RESOLVER],
                transport,
                app[CLOCK],
                queued=app[DELIVERY_WORKER].wake,
                policy=policy,
            )

        app[FOLLOWS] = federated(FollowService)
        app[FOLLOWS].notifications = app[NOTIFICATIONS]
        app[FOLLOWS].register(app[DISPATCHER])
        app[PARTNERSHIPS] = Partnerships(
            app[SETTINGS].uris.instance_actor,
            app[RESOLVER],
            transport,
            app[CLOCK],
            queued=app[DELIVERY_WORKER].wake,
            refuse_peer=policy.refuse_partnership,
        )
        app[PARTNERSHIPS].register(app[DISPATCHER])
        app[RELATIONS] = federated(RelationService)
        # 60 blocks and mutes per member and hour: plenty for a person, a wall for a script
        # making the node fetch accounts from other servers (or flood one with Blocks).
        app[RELATIONS].limiter = SlidingWindowLimiter(60, 3600, app[CLOCK])
        app[RELATIONS].register(app[DISPATCHER])
        app[CONVERSATIONS] = federated(ConversationService)
        app[CONVERSATIONS].guard = app[CONTENT]
        # Listings and messages become statuses in members' timelines (node/statuses).
        index = StatusIndex(app[TIMELINES])
        app[CONVERSATIONS].stored = index.message_added
        app[CONVERSATIONS].register(app[DISPATCHER])
        # Posts of the accounts members follow, for their home timelines (node/statuses).
        ReceivedStatuses(app[SETTINGS].uris, app[TIMELINES], app[RESOLVER], app[CLOCK]).register(
            app[DISPATCHER]
        )
        app[GROUPS] = federated(GroupService)
        app[GROUPS].register(app[DISPATCHER])
        # Circles: their own Follows, posts and announces (node/circles, docs/circles.md).
        app[CIRCLES] = federated(CircleService)
        app[CIRCLES].is_partner = app[PARTNERSHIPS].is_partner
        app[CIRCLES].guard = app[CONTENT]
        CircleInbox(
            app[SETTINGS].uris,
            app[RESOLVER],
            transport,
            app[CLOCK],
            queued=app[DELIVERY_WORKER].wake,
            policy=policy,
            circles=app[CIRCLES],
        ).register(app[DISPATCHER])
        node_settings = app[SETTINGS]
        files = MediaFiles(node_settings.media_path)
        app[MEDIA] = MediaService(node_settings.media, files, transport, app[CLOCK])
        app[RETENTION] = RetentionJob(app[GOVERNANCE], app[MEDIA], app[CLOCK])
        app[ERASER] = Eraser(
            node_settings.uris,
            app[CLOCK],
            app[MEDIA],
            DocumentVault(node_settings.documents_path, node_settings.document_key_path),
            queued=app[DELIVERY_WORKER].wake,
        )

        async def announce(listing: Listing) -> None:
            # A new listing: its saved-search alerts, and a status in every home timeline.
            await app[SAVED_SEARCHES].announce(listing)
            await index.listing_added(listing)

        listing_federation = ListingFederation(
            node_settings.uris, app[GROUPS], node_settings.community, app[RESOLVER]
        )
        listing_federation.circles = app[CIRCLES]
        app[LISTINGS] = ListingService(
            node_settings.uris,
            app[CLOCK],
            node_settings.listings,
            node_settings.community,
            app[NOTIFICATIONS],
            app[CONVERSATIONS],
            media=app[MEDIA],
            federation=listing_federation,
            queued=app[DELIVERY_WORKER].wake,
            alerts=announce,
            silenced=policy.silenced,
            guard=app[CONTENT],
        )
        # After the conversation handlers: a reply to a listing is a message first.
        ReceivedResponses(
            node_settings.uris,
            app[CLOCK],
            app[NOTIFICATIONS],
            app[PARTNERSHIPS].is_partner,
            settle=app[LISTINGS].settle,
            is_verified=app[TRUST].is_verified,
            guard=app[CONTENT],
        ).register(app[DISPATCHER])
        ReceivedListings(
            node_settings.uris,
            app[CLOCK],
            app[PARTNERSHIPS].is_partner,
            app[MEDIA],
            alerts=announce,
            max_days=node_settings.listings.max_expiry_days,
            guard=app[CONTENT],
        ).register(app[DISPATCHER])
        # Members' statuses from apps (the Mastodon client API, docs/client-api.md).
        app[STATUSES] = federated(StatusService)
        app[STATUSES].timelines = app[TIMELINES]
        app[STATUSES].guard = app[CONTENT]
        app[STATUSES].conversations = app[CONVERSATIONS]
        app[STATUSES].listings = app[LISTINGS]
        app[REPORTS] = ReportService(
            node_settings.uris,
            app[RESOLVER],
            transport,
            app[CLOCK],
            notifications=app[NOTIFICATIONS],
            # [content] reports_per_hour per member (10: enough for a person, not for a
            # harassment campaign by reports); 20 Flags per server and hour: more is a flood.
            limiter=app[CONTENT].limiter(Creation.REPORT),
            flag_limiter=SlidingWindowLimiter(20, 3600, app[CLOCK]),
            queued=app[DELIVERY_WORKER].wake,
            policy=policy,
        )
        app[REPORTS].register(app[DISPATCHER])
        assert policy.restrictions is not None  # made by federation_policy()
        app[MODERATION] = ModerationService(
            node_settings.uris,
            app[CLOCK],
            notifications=app[NOTIFICATIONS],
            verification=app[VERIFICATION],
            listings=app[LISTINGS],
            conversations=app[CONVERSATIONS],
            policy=policy,
            restrictions=policy.restrictions,
            queued=app[DELIVERY_WORKER].wake,
        )
        app[NOTICES] = NoticeService(
            node_settings.uris,
            app[CLOCK],
            node_settings.community.kind,
            app[GOVERNANCE].current,
            groups=app[GROUPS],
            circles=app[CIRCLES],
            media=app[MEDIA],
            is_partner=app[PARTNERSHIPS].is_partner,
            queued=app[DELIVERY_WORKER].wake,
        )
        app[NOTICES].register(app[DISPATCHER])
        app[DIRECTORY] = Directory(node_settings.community, transport, app[CLOCK])
        app[HELD] = HeldContent(app[CLOCK], app[LISTINGS], app[CONVERSATIONS])
        # Problem reports: after the conversation handlers (a problem is a Note too).
        app[PROBLEMS] = ProblemService(
            node_settings.uris,
            app[RESOLVER],
            transport,
            app[CLOCK],
            settings=node_settings.problems,
            community=node_settings.community,
            notifications=app[NOTIFICATIONS],
            media=app[MEDIA],
            guard=app[CONTENT],
            # 200 reports an hour from one district is a flood: the rest are kept as ignored
            # inbound activities (with the reason) rather than bury the handlers' list.
            received_limiter=SlidingWindowLimiter(200, 3600, app[CLOCK]),
            queued=app[DELIVERY_WORKER].wake,
            policy=policy,
        )
        app[PROBLEMS].register(app[DISPATCHER])
        app[APPEALS] = AppealService(app[CLOCK], app[NOTIFICATIONS], app[LISTINGS])
        yield
