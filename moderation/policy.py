"""Governance decisions that do not need the database."""

from __future__ import annotations

from enum import StrEnum


class FederationMode(StrEnum):
    """How a node federates, as chosen by its community.

    ``open``: federate with everyone except blocked nodes.
    ``allowlist``: federate only with partner nodes.
    ``local``: federate with nobody; the node is a private neighbourhood board.
    """

    OPEN = "open"
    ALLOWLIST = "allowlist"
    LOCAL = "local"

    @property
    def summary(self) -> str:
        """One sentence for NodeInfo and the about page."""
        return {
            FederationMode.OPEN: "Federates with every node except those the community blocks.",
            FederationMode.ALLOWLIST: "Federates only with partner nodes the community approved.",
            FederationMode.LOCAL: "Does not federate; everything stays on this node.",
        }[self]
