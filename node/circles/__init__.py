"""Circles: groups inside a node (a building, a street, an association), each a FEP-1b12
``Group`` actor that members join and whose posts it announces to them."""
