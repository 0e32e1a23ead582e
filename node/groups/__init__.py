"""The node's ``Group`` actors (FEP-1b12): the neighbourhood, which distributes listings."""
