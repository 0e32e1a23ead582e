"""The governance policy's decisions: what an activity shares, and whether it may go."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from activitypub.activities import announce, follow, respond
from activitypub.listings.agreements import agreement_done, reject_offer
from activitypub.listings.build import listing_activity, listing_object
from activitypub.notes import Mention, private_note, wrap
from moderation.governance import (
    GovernancePolicy,
    Reach,
    SharedKind,
    content_kind,
    shared_content,
)
from moderation.policy import FederationMode
from tests.activitypub.test_listings import terms

NODE = "https://tilleuls.example"
BEA = f"{NODE}/users/bea"
GROUP = f"{NODE}/groups/tilleuls"
REMOTE = "https://masto.example/users/zoe"
WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def direct_message() -> dict:
    note = private_note(
        f"{BEA}/messages/1", BEA, [Mention(REMOTE, "zoe@masto.example")], "Hello", "ctx", "now"
    )
    return wrap("Create", f"{BEA}/messages/1/create", note)


def listing_create() -> dict:
    return listing_activity("Create", f"{NODE}/activities/1", listing_object(terms()))


def test_a_direct_message_is_a_message_of_its_author() -> None:
    shared = shared_content(direct_message())
    assert shared is not None
    assert (shared.kind, shared.owner, shared.subject) == (
        SharedKind.MESSAGES,
        BEA,
        f"{BEA}/messages/1",
    )


def test_a_listing_is_a_listing_whether_its_author_or_the_group_sends_it() -> None:
    create = listing_create()
    relayed = announce(f"{GROUP}/announces/1", GROUP, create, [], [])
    for activity in (create, relayed):
        shared = shared_content(activity)
        assert shared is not None
        assert shared.kind is SharedKind.LISTINGS
        assert shared.owner == create["object"]["attributedTo"]
        assert shared.subject == create["object"]["id"]


def test_a_profile_update_is_the_members_profile() -> None:
    update = {"type": "Update", "actor": BEA, "object": {"type": "Person", "id": BEA}}
    shared = shared_content(update)
    assert shared is not None
    assert (shared.kind, shared.owner, shared.subject) == (SharedKind.PROFILES, BEA, BEA)


def test_answers_to_responses_are_messages_but_answers_to_follows_are_plumbing() -> None:
    reject = reject_offer(
        f"{REMOTE}/offers/1", REMOTE, reject_id=f"{BEA}/r/1", actor=BEA, reason="Sold"
    )
    done = agreement_done(f"{NODE}/agreements/1", update_id=f"{NODE}/u/1", actor=BEA, to=REMOTE)
    assert content_kind(reject) is SharedKind.MESSAGES
    assert content_kind(done) is SharedKind.MESSAGES
    asked = follow(f"{REMOTE}/follows/1", REMOTE, BEA)
    assert content_kind(respond("Accept", f"{BEA}/accepts/1", BEA, asked)) is None
    assert content_kind(asked) is None
    bare_reject = reject_offer(f"{REMOTE}/offers/1", REMOTE, reject_id=f"{BEA}/r/2", actor=BEA)
    assert content_kind(bare_reject) is None  # carries nothing of the member's


def test_withdrawals_and_plumbing_always_go() -> None:
    for kind in ("Delete", "Undo", "Follow", "Block", "Flag"):
        assert content_kind({"type": kind, "actor": BEA, "object": {"type": "Note"}}) is None
    deletion = listing_activity("Delete", f"{NODE}/activities/2", listing_object(terms()))
    assert content_kind(deletion) is None


def test_what_cannot_be_recognised_counts_as_a_message() -> None:
    for activity in (
        {"type": "Create", "actor": BEA, "object": {"type": "Question"}},
        {"type": "Like", "actor": BEA, "object": "https://x.example/1"},
        {"type": ["Create", "Extra"], "actor": BEA, "object": {"type": ["Note"]}},
        {"type": 7, "actor": BEA},
    ):
        assert content_kind(activity) is SharedKind.MESSAGES


reaches = st.sampled_from(list(Reach))
policies = st.builds(
    GovernancePolicy,
    federation_mode=st.sampled_from(list(FederationMode)),
    sharing=st.fixed_dictionaries({kind: reaches for kind in SharedKind}),
)


@given(policy=policies, kind=st.sampled_from([*SharedKind, None]), partner=st.booleans())
def test_a_kind_goes_exactly_where_its_reach_admits(
    policy: GovernancePolicy, kind: SharedKind | None, partner: bool
) -> None:
    reason = policy.refusal(kind, partner)
    if kind is None:
        assert reason is None
        return
    reach = policy.reach(kind)
    allowed = reach is Reach.PUBLIC or (reach is Reach.PARTNERS and partner)
    assert (reason is None) == allowed
    if reason is not None:
        assert kind.label in reason  # the refusal names what was held back


def test_the_summary_says_every_kind_and_retention() -> None:
    summary = GovernancePolicy().summary()
    assert summary["sharing"] == {
        "messages": "public",
        "listings": "public",
        "profiles": "public",
        "real_names": "nobody",
        "credentials": "public",
    }
    assert summary["federationMode"] == "open"
    assert summary["retentionDays"]["messages"] is None  # kept for ever by default
