"""Actors the node hosts: key material shared by members and the node's Application actor."""
