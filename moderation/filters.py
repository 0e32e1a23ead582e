"""The community's keyword filters, and the content they (or the limits on links and
mentions) caught: kept, listed, released or rejected, each change in the audit log."""

from __future__ import annotations

from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from moderation import audit
from moderation.content import FilterSet, normalise_phrase
from moderation.errors import InvalidFilter, NoSuchFilter
from moderation.models import FilterAction, FilteredContent, HeldState, KeywordFilter

# What others must not see: waiting, hidden for good, or refused.
NOT_SHOWN = (HeldState.HELD, HeldState.HIDDEN, HeldState.REJECTED)
MAX_EXCERPT = 500


async def all_filters() -> list[KeywordFilter]:
    """Every filter, oldest first."""
    return await KeywordFilter.all().order_by("id")


async def filter_set() -> FilterSet:
    """The filters in force, compiled."""
    rows = await KeywordFilter.all().values_list("phrase", "action")
    return FilterSet((str(phrase), FilterAction(action)) for phrase, action in rows)


async def add_filter(phrase: str, action: FilterAction, by: str, at: datetime) -> KeywordFilter:
    """A new filter (``InvalidFilter`` if the phrase is empty, too long or filtered already),
    audited as ``filter.added``."""
    phrase = normalise_phrase(phrase)
    if await KeywordFilter.filter(phrase__iexact=phrase).exists():
        raise InvalidFilter("this phrase is filtered already")
    try:
        async with in_transaction():
            row = await KeywordFilter.create(
                phrase=phrase, action=action, created_by=by, created_at=at
            )
            await audit.record(by, "filter.added", f"filter:{row.id}", f"{action}: {phrase}", at)
    except IntegrityError:
        raise InvalidFilter("this phrase is filtered already") from None
    return row


async def remove_filter(filter_id: int, by: str, at: datetime) -> None:
    """Remove a filter (``NoSuchFilter`` if there is none), audited as ``filter.removed``.
    What it caught stays as decided (held content still waits for a moderator)."""
    async with in_transaction():
        row = await KeywordFilter.get_or_none(id=filter_id)
        if row is None:
            raise NoSuchFilter("no such filter")
        await row.delete()
        await audit.record(
            by, "filter.removed", f"filter:{filter_id}", f"{row.action}: {row.phrase}", at
        )


async def caught(
    kind: str,
    target: str,
    author: str,
    *,
    local: bool,
    action: FilterAction,
    reason: str,
    excerpt: str,
    at: datetime,
) -> FilteredContent:
    """Record content a filter or a limit caught (in the caller's transaction): ``held``
    for ``hold``, ``hidden`` for ``hide``; audited (by ``system``) as ``content.held`` or
    ``content.hidden``. Caught again (an edit): the record is kept, set back to held/hidden."""
    state = HeldState.HELD if action is FilterAction.HOLD else HeldState.HIDDEN
    row = await FilteredContent.get_or_none(target=target)
    if row is None:
        row = await FilteredContent.create(
            kind=kind,
            target=target,
            author=author,
            local=local,
            state=state,
            reason=reason[:300],
            excerpt=excerpt[:MAX_EXCERPT],
            created_at=at,
        )
    else:
        row.state, row.reason, row.excerpt = state, reason[:300], excerpt[:MAX_EXCERPT]
        row.decided_by, row.decided_at = "", None
        await row.save()
    await audit.record(audit.SYSTEM, f"content.{state.value}", target, reason, at)
    return row


async def queue(state: HeldState = HeldState.HELD) -> list[FilteredContent]:
    """Caught content in a state (held by default), oldest first."""
    return await FilteredContent.filter(state=state).order_by("created_at", "id")


async def not_shown(kind: str | None, targets: list[str]) -> dict[str, HeldState]:
    """Of ``targets`` (URIs of one kind, or of any kind with None), those others must not
    see, with why. (A reply to a listing is a message and a response under one URI: caught
    as the message, it is kept back as the response too.)"""
    if not targets:
        return {}
    query = FilteredContent.filter(target__in=targets, state__in=NOT_SHOWN)
    if kind is not None:
        query = query.filter(kind=kind)
    return {row.target: row.state for row in await query}


async def state_of(target: str) -> HeldState | None:
    """The filter state of one piece of content, if something caught it."""
    row = await FilteredContent.get_or_none(target=target)
    return row.state if row is not None else None


async def decide(
    held_id: int, *, release: bool, by: str, reason: str, at: datetime
) -> FilteredContent:
    """A moderator releases held or hidden content (it is published) or rejects it (never
    shown); ``NoSuchFilter`` unless it is held or hidden. Audited as ``content.released`` or
    ``content.rejected``; runs in the caller's transaction so the publishing stands or falls
    with it."""
    state = HeldState.RELEASED if release else HeldState.REJECTED
    # Conditional: of two moderators deciding at once, one decides, the other gets NoSuchFilter.
    waiting = (HeldState.HELD, HeldState.HIDDEN)
    if not await FilteredContent.filter(id=held_id, state__in=waiting).update(
        state=state, decided_by=by, decided_at=at
    ):
        raise NoSuchFilter("no such held content")
    row = await FilteredContent.get(id=held_id)
    await audit.record(by, f"content.{row.state.value}", row.target, reason, at)
    return row
