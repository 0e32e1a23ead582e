"""Community rules: federation mode, domain blocks; later governance policy, reports, audit.

Imports only :mod:`activitypub`. ``policy`` and ``domains`` are pure decisions on plain values;
``blocks`` keeps the community's domain blocks in the database (tortoise app ``moderation``,
migrations in ``moderation/migrations``) behind an in-memory cache.
"""
