"""Community rules: federation mode, blocks, governance policy, reports, audit.

Imports only :mod:`activitypub`. Decisions here are pure; callers pass plain values.
"""
