"""The Mastodon client API's routes (``/api/v1``, ``/api/v2``), one module per group.

See docs/client-api.md for what each endpoint does and returns.
"""
