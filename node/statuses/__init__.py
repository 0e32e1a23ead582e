"""Statuses: the timeline index the Mastodon client API reads (see models.py)."""
