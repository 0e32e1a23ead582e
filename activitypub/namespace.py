"""Our JSON-LD namespace, shared by every vocabulary of ours (listings, actors, attestations).

``urn:uuid:03bb033a-b5f1-4172-b75d-83527ad05bbc#``: why a UUID URN and not a URL is explained
in :mod:`activitypub.listings.vocabulary`. Its own module so that the actor documents can use
it without importing the listing vocabulary (which imports them).
"""

from __future__ import annotations

from typing import Final

NAMESPACE: Final = "urn:uuid:03bb033a-b5f1-4172-b75d-83527ad05bbc#"
