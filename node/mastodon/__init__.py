"""The Mastodon client API's model of Quartier: entities, parameters, pagination, streaming.

Apps (Tusky, Ivory, Elk, Phanpy, Mastodon.py...) speak Mastodon's REST API; this package turns
Quartier's members, listings, messages and notifications into Mastodon's entities and reads
Mastodon's request conventions. The routes are in :mod:`node.http.mastodon`; docs/client-api.md
says what is supported and how each Quartier concept maps.
"""
