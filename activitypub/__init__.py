"""Pure ActivityPub protocol: URIs, documents, keys, discovery.

No database, no network, no aiohttp.web: everything here is a pure function or a dataclass, so
it can be unit-tested without an event loop.
"""
