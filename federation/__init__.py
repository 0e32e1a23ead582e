"""Talking to other nodes: transport, delivery, inbox processing, peers.

Imports :mod:`moderation` and :mod:`activitypub`, never :mod:`node`.
"""
