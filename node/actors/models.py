"""Key columns every local actor has, and the node's own Application actor."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from activitypub.keys import ActorKeys


class KeyedActor(Model):
    """Abstract base: an actor with an RSA and an Ed25519 key pair."""

    rsa_private_pem = fields.TextField()
    rsa_public_pem = fields.TextField()
    ed25519_private_pem = fields.TextField()
    ed25519_multibase = fields.CharField(max_length=100)

    class Meta:
        abstract = True

    @property
    def keys(self) -> ActorKeys:
        """The actor's key material."""
        return ActorKeys(
            rsa_private_pem=self.rsa_private_pem,
            rsa_public_pem=self.rsa_public_pem,
            ed25519_private_pem=self.ed25519_private_pem,
            ed25519_multibase=self.ed25519_multibase,
        )

    @staticmethod
    def key_columns(keys: ActorKeys) -> dict[str, Any]:
        """Column values for ``keys``, to pass to ``create``."""
        return {
            "rsa_private_pem": keys.rsa_private_pem,
            "rsa_public_pem": keys.rsa_public_pem,
            "ed25519_private_pem": keys.ed25519_private_pem,
            "ed25519_multibase": keys.ed25519_multibase,
        }


class InstanceActor(KeyedActor):
    """The node's Application actor (one row). Signs node-level requests."""

    id = fields.IntField(primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "instance_actor"
