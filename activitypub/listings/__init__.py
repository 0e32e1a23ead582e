"""Listings on the wire (FEP-0837 "Federated Marketplace"): what we send, what we read.

- :mod:`~activitypub.listings.terms`: the plain values (:class:`ListingTerms`,
  :class:`ReceivedListing`, :class:`Price`, :class:`Place`, :class:`Photo`, details).
- :mod:`~activitypub.listings.build`: :func:`listing_object`, a ``Note`` with the FEP-0837
  terms inline and ours, and :func:`listing_activity` around it.
- :mod:`~activitypub.listings.read`: :func:`read_listing`, for FEP-0837 proposals of any type
  (Mitra, Epicyon, ours) and Flohmarkt items.
- :mod:`~activitypub.listings.agreements`: ``Offer(Agreement)``, ``Accept``, ``Reject``,
  built and read.
- :mod:`~activitypub.listings.vocabulary`: the JSON-LD context and our namespace.
- :mod:`~activitypub.listings.currencies`: ISO 4217.

The wire format is documented, with examples generated from these builders, in
``docs/listings.md`` ("Wire format").
"""

from activitypub.listings.agreements import (
    Agreement,
    Commitment,
    ProposalRef,
    ReceivedAcceptance,
    ReceivedCompletion,
    ReceivedOffer,
    ReceivedRejection,
    accept_agreement,
    agreement_done,
    offer_agreement,
    read_accept,
    read_completion,
    read_offer,
    read_reject,
    reject_offer,
)
from activitypub.listings.build import listing_activity, listing_object, summary_line
from activitypub.listings.read import looks_like_listing, read_listing
from activitypub.listings.terms import (
    CarpoolDetails,
    Details,
    LendDetails,
    ListingKind,
    ListingStatus,
    ListingTerms,
    Measure,
    Photo,
    Place,
    Price,
    ReceivedListing,
    RequestDetails,
    ServiceDetails,
    details_from_mapping,
    details_to_mapping,
)
from activitypub.listings.vocabulary import CONTEXT, NAMESPACE

__all__ = [
    "CONTEXT",
    "NAMESPACE",
    "Agreement",
    "CarpoolDetails",
    "Commitment",
    "Details",
    "LendDetails",
    "ListingKind",
    "ListingStatus",
    "ListingTerms",
    "Measure",
    "Photo",
    "Place",
    "Price",
    "ProposalRef",
    "ReceivedAcceptance",
    "ReceivedCompletion",
    "ReceivedListing",
    "ReceivedOffer",
    "ReceivedRejection",
    "RequestDetails",
    "ServiceDetails",
    "accept_agreement",
    "agreement_done",
    "details_from_mapping",
    "details_to_mapping",
    "listing_activity",
    "listing_object",
    "looks_like_listing",
    "offer_agreement",
    "read_accept",
    "read_completion",
    "read_listing",
    "read_offer",
    "read_reject",
    "reject_offer",
    "summary_line",
]
