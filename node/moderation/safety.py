"""Content safety for what members write and other servers send: limits on links and
mentions per post, per-member hourly limits on everything that creates content, and the
community's keyword filters. One place, asked by every surface that creates content."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from moderation import filters
from moderation.content import FilterHit, count_links, count_mentions
from moderation.models import FilterAction
from node.clock import Clock
from node.config import ContentSettings
from node.errors import TooManyRequests, ValidationFailed
from node.members.models import Member
from node.ratelimit import SlidingWindowLimiter

HOUR = 3600


class Creation(StrEnum):
    """What a member creates, each kind counted on its own per hour."""

    MESSAGE = "messages"
    RESPONSE = "responses"
    FOLLOW = "follows"
    REPORT = "reports"
    PROBLEM = "problems"


class ContentGuard:
    """The node's content rules, from the ``[content]`` settings and the filters moderators
    keep."""

    def __init__(self, settings: ContentSettings, clock: Clock) -> None:
        self._settings = settings
        self._limiters = {
            kind: SlidingWindowLimiter(getattr(settings, f"{kind.value}_per_hour"), HOUR, clock)
            for kind in Creation
        }

    def limiter(self, kind: Creation) -> SlidingWindowLimiter:
        """The hourly limiter of one kind (for services that count themselves)."""
        return self._limiters[kind]

    def count(self, kind: Creation, member: Member) -> None:
        """Count one creation of ``kind`` by ``member``: 429 with ``Retry-After`` past the
        hourly limit (checked and counted in one step, so concurrent requests cannot all pass)."""
        limiter = self._limiters[kind]
        try:
            limiter.hit(f"member:{member.id}")
        except TooManyRequests as exc:
            raise TooManyRequests(
                f"at most {limiter.max_events} {kind.value} an hour: try again later",
                retry_after=exc.retry_after,
            ) from None

    def over_limit(
        self, text: str, hrefs: Iterable[str] = (), mentions: Iterable[str] = ()
    ) -> str | None:
        """Which limit a post exceeds (``"max_links (10)"``), or None."""
        if count_links(text, hrefs) > self._settings.max_links:
            return f"max_links ({self._settings.max_links})"
        if count_mentions(text, mentions) > self._settings.max_mentions:
            return f"max_mentions ({self._settings.max_mentions})"
        return None

    def check_post(self, field: str, text: str, hrefs: Iterable[str] = ()) -> None:
        """422 naming the limit when what a member writes carries too many links or mentions."""
        hrefs = list(hrefs)
        if count_links(text, hrefs) > self._settings.max_links:
            message = f"at most {self._settings.max_links} links in a post (max_links)"
        elif count_mentions(text) > self._settings.max_mentions:
            message = f"at most {self._settings.max_mentions} mentions in a post (max_mentions)"
        else:
            return
        raise ValidationFailed(message, details=[{"field": field, "message": message}])

    async def screen(self, *texts: str) -> FilterHit | None:
        """The keyword filter ``texts`` match, if any (``hold`` before ``hide``)."""
        found = await filters.filter_set()
        return found.match(*texts) if found else None

    async def screen_inbound(
        self, texts: Iterable[str], hrefs: Iterable[str] = (), mentions: Iterable[str] = ()
    ) -> FilterHit | None:
        """What to do with a post from another server: held when it exceeds a limit (our
        members may not write it, a moderator decides whether they may read it), else what
        the filters say."""
        texts = list(texts)
        limit = self.over_limit("\n".join(texts), hrefs, mentions)
        if limit is not None:
            return FilterHit(limit, FilterAction.HOLD, limit=True)
        return await self.screen(*texts)
