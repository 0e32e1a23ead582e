"""The node's Application actor: created once, with its keys, on first start."""

from __future__ import annotations

import asyncio

from tortoise.exceptions import IntegrityError

from activitypub.keys import generate_actor_keys
from node.actors.models import InstanceActor


async def ensure_instance_actor() -> InstanceActor:
    """The node's Application actor, generating its keys on first use."""
    existing = await InstanceActor.first()
    if existing is not None:
        return existing
    keys = await asyncio.to_thread(generate_actor_keys)
    try:
        return await InstanceActor.create(id=1, **InstanceActor.key_columns(keys))
    except IntegrityError:
        # Another process (a concurrent 'migrate' or 'serve') created it first: use theirs.
        return await InstanceActor.get(id=1)
