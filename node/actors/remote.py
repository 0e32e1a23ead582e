"""What remote actors tell us about themselves: profile and key updates, and account deletion."""

from __future__ import annotations

from activitypub import activities
from activitypub.actor_documents import ACTOR_TYPES
from federation.dereference import ActorResolver
from federation.dispatch import Dispatcher, InboundActivity
from federation.errors import DereferenceError, NotActedOn
from federation.models import RemoteActor, RemoteCredential
from node.follows.models import Follow


class RemoteActorEvents:
    """Handlers for Update(actor) and Delete(actor), and for inboxes answering 410 Gone."""

    def __init__(self, resolver: ActorResolver) -> None:
        self._resolver = resolver

    def register(self, dispatcher: Dispatcher) -> None:
        """Route Update of any actor type, and Delete, here."""
        for actor_type in sorted(ACTOR_TYPES):
            dispatcher.register("Update", self.on_update, object_type=actor_type)
        dispatcher.register("Delete", self.on_delete)

    async def on_update(self, activity: InboundActivity) -> None:
        """An actor changed its profile or keys: fetch its document again (never trust the
        embedded copy, which the signature does not bind to the actor's own server)."""
        if activities.object_id(activity.body.get("object")) != activity.actor:
            raise NotActedOn("an Update of another actor (an actor may update only itself)")
        try:
            await self._resolver.actor(activity.actor, refresh=True)
        except DereferenceError as exc:
            # Not retried: the cached document stays until it is fetched again anyway.
            raise NotActedOn(f"the actor's document could not be fetched again: {exc}") from exc

    async def on_delete(self, activity: InboundActivity) -> None:
        """An account was deleted: forget it and every follow it had with our members.

        Deletes of other objects (notes, listings) belong to the features that own them.
        """
        if activities.object_id(activity.body.get("object")) != activity.actor:
            raise NotActedOn("not the deletion of the sender's own account")
        await self._forget(activity.actor)

    async def on_gone(self, inbox: str) -> None:
        """A delivery to ``inbox`` was answered 410 Gone: the account that owns it is gone.

        Only a personal inbox says which account went; a shared inbox answering 410 is left
        alone (one gone endpoint does not prove every account of its server is gone).
        """
        for uri in await RemoteActor.filter(inbox=inbox).values_list("uri", flat=True):
            await self._forget(str(uri))

    async def _forget(self, actor: str) -> None:
        await Follow.filter(follower=actor).delete()
        await Follow.filter(followee=actor).delete()
        await RemoteActor.filter(uri=actor).delete()
        await RemoteCredential.filter(subject=actor).delete()  # a gone account is no resident
        self._resolver.forget(actor)
