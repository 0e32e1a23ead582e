"""The JSON-LD vocabulary of attestations: the VC 2.0 context, and our terms inline.

Our terms are in our namespace (:data:`~activitypub.listings.vocabulary.NAMESPACE`, see there
for why a UUID URN) and defined inline in every credential's ``@context``, so that nothing is
fetched to read them. None redefines a term of the VC context: its terms are protected, and a
JSON-LD processor refuses a context that redefines one. Status lists use only VC terms.
"""

from __future__ import annotations

from typing import Any, Final

from activitypub.namespace import NAMESPACE

VC_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
VERIFIABLE_CREDENTIAL: Final = "VerifiableCredential"
RESIDENCY_CREDENTIAL: Final = "ResidencyCredential"
ENDORSEMENT_CREDENTIAL: Final = "CommunityEndorsementCredential"
STATUS_LIST_CREDENTIAL: Final = "BitstringStatusListCredential"
STATUS_LIST: Final = "BitstringStatusList"
STATUS_LIST_ENTRY: Final = "BitstringStatusListEntry"
# The only status we publish and read. Others (suspension, message) would need more than one
# meaning per bit; a credential carrying one is refused rather than half understood.
REVOCATION: Final = "revocation"

# How the node knows the member lives there (node.members.models.VerificationMethod).
RESIDENCY_METHODS: Final = frozenset({"document", "vouching", "manager"})

# ``name`` inside ``community`` is the VC context's own (schema.org/name), not redefined.
CREDENTIAL_TERMS: Final[dict[str, Any]] = {
    RESIDENCY_CREDENTIAL: f"{NAMESPACE}{RESIDENCY_CREDENTIAL}",
    ENDORSEMENT_CREDENTIAL: f"{NAMESPACE}{ENDORSEMENT_CREDENTIAL}",
    "community": f"{NAMESPACE}community",
    "area": f"{NAMESPACE}area",
    "residencyMethod": f"{NAMESPACE}residencyMethod",
    # "@vocab": the value is a type name ("ResidencyCredential"), resolved as a term.
    "endorsedFor": {"@id": f"{NAMESPACE}endorsedFor", "@type": "@vocab"},
}
CREDENTIAL_CONTEXT: Final[list[Any]] = [VC_CONTEXT, CREDENTIAL_TERMS]
STATUS_LIST_CONTEXT: Final[list[Any]] = [VC_CONTEXT]

MAX_NAME_LENGTH: Final = 200  # a community's name or area
