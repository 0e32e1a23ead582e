"""Typed application keys: the node's state on the aiohttp application."""

from __future__ import annotations

from aiohttp import web
from tortoise.context import TortoiseContext

from federation.dereference import ActorResolver
from federation.dispatch import Dispatcher
from federation.ingest import InboxLoad, InboxWriter
from federation.outbound import DeliveryWorker
from federation.peers import Partnerships
from federation.policy import FederationPolicy
from federation.transport import Transport
from federation.trust import CredentialChecker
from federation.worker import InboundWorker
from moderation.policy_store import PolicyStore
from node.circles.service import CircleService
from node.clock import Clock
from node.config import Settings
from node.conversations.service import ConversationService
from node.follows.service import FollowService
from node.groups.service import GroupService
from node.http.doc_cache import DocumentCache
from node.listings.saved import SavedSearches
from node.listings.service import ListingService
from node.mastodon.streaming import StreamHub
from node.media.service import MediaService
from node.members.service import MemberService
from node.moderation.appeals import AppealService
from node.moderation.held import HeldContent
from node.moderation.reports import ReportService
from node.moderation.safety import ContentGuard
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
from node.statuses.posting import StatusService
from node.statuses.service import Timelines
from node.verification.credentials import CredentialIssuer
from node.verification.service import VerificationService

SETTINGS = web.AppKey("settings", Settings)
# whether this process answers HTTP (serve) and so must hold the document key
SERVES_DOCUMENTS = web.AppKey("serves_documents", bool)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
OAUTH = web.AppKey("oauth", OAuthService)
# The Mastodon streaming API's open connections (node/mastodon/streaming.py).
STREAMS = web.AppKey("streams", StreamHub)
TIMELINES = web.AppKey("timelines", Timelines)
STATUSES = web.AppKey("statuses", StatusService)
DATABASE = web.AppKey("database", TortoiseContext)
TRANSPORT = web.AppKey("transport", Transport)
MEMBERS = web.AppKey("members", MemberService)
LOGIN_LIMITER = web.AppKey("login_limiter", SlidingWindowLimiter)
# Visitors' (no account) reads of the public listings, per address.
VISITOR_LIMITER = web.AppKey("visitor_limiter", SlidingWindowLimiter)
ACTOR_DOCUMENTS = web.AppKey("actor_documents", DocumentCache)
RESOLVER = web.AppKey("resolver", ActorResolver)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
INBOUND_WORKER = web.AppKey("inbound_worker", InboundWorker)
DELIVERY_WORKER = web.AppKey("delivery_worker", DeliveryWorker)
FOLLOWS = web.AppKey("follows", FollowService)
PARTNERSHIPS = web.AppKey("partnerships", Partnerships)
CONVERSATIONS = web.AppKey("conversations", ConversationService)
FEDERATION_POLICY = web.AppKey("federation_policy", FederationPolicy)
# The community's governance policy in force (the file's, with the admins' changes).
GOVERNANCE = web.AppKey("governance", PolicyStore)
# Purges what the policy's retention periods say must go (hourly, in the background).
RETENTION = web.AppKey("retention", RetentionJob)
# Members' data rights: the archive of everything they created, and erasure.
EXPORTER = web.AppKey("exporter", Exporter)
ERASER = web.AppKey("eraser", Eraser)
INBOX_WRITER = web.AppKey("inbox_writer", InboxWriter)
# the inbox's requests in flight: the inbound worker takes smaller claims while there are any
INBOX_LOAD = web.AppKey("inbox_load", InboxLoad)
NOTIFICATIONS = web.AppKey("notifications", NotificationService)
LISTINGS = web.AppKey("listings", ListingService)
GROUPS = web.AppKey("groups", GroupService)
NOTICES = web.AppKey("notices", NoticeService)
DIRECTORY = web.AppKey("directory", Directory)
MEDIA = web.AppKey("media", MediaService)
SAVED_SEARCHES = web.AppKey("saved_searches", SavedSearches)
VERIFICATION = web.AppKey("verification", VerificationService)
CREDENTIALS = web.AppKey("credentials", CredentialIssuer)
TRUST = web.AppKey("trust", CredentialChecker)
# vouches, uploads of proofs and lookups of other nodes' members, per member
VERIFICATION_LIMITER = web.AppKey("verification_limiter", SlidingWindowLimiter)
REPORTS = web.AppKey("reports", ReportService)
MODERATION = web.AppKey("moderation", ModerationService)
APPEALS = web.AppKey("appeals", AppealService)
# Members' blocks and mutes, and other servers' blocks of our members.
RELATIONS = web.AppKey("relations", RelationService)
# limits on links, mentions and creations per hour; the keyword filters
CONTENT = web.AppKey("content", ContentGuard)
HELD = web.AppKey("held", HeldContent)
# Problem reports: members' reports, their handling here, the activities between nodes.
PROBLEMS = web.AppKey("problems", ProblemService)
OPEN311_KEYS = web.AppKey("open311_keys", Open311Keys)
# The node's circles (groups inside it) and the other nodes' circles members joined.
CIRCLES = web.AppKey("circles", CircleService)
