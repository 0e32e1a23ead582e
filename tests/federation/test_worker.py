"""The inbound worker and the dispatcher, on a real database."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest

from federation.dispatch import Dispatcher, InboundActivity
from federation.errors import NotActedOn
from federation.ingest import InboxLoad, InboxWriter
from federation.models import InboundMessage, InboundState
from federation.queue_sql import NewInbound
from federation.worker import InboundWorker, RetryPolicy, poll_loop
from tests.conftest import FakeClock


async def store(
    clock: FakeClock,
    n: int,
    activity_type: str = "Follow",
    obj=None,
    actor: str = "https://a.example/u",
) -> InboundMessage:
    host = actor.split("/")[2]
    body = {"id": f"https://{host}/{n}", "type": activity_type, "actor": actor}
    if obj is not None:
        body["object"] = obj
    return await InboundMessage.create(
        activity_id=body["id"],
        actor=body["actor"],
        activity_type=activity_type,
        body=body,
        received_at=clock.now,
        next_attempt_at=clock.now,
    )


async def state_of(row: InboundMessage) -> InboundMessage:
    return await InboundMessage.get(id=row.id)


async def test_a_handled_activity_reaches_its_handler_once_and_is_done(db, clock):
    seen: list[InboundActivity] = []

    async def on_follow(activity: InboundActivity) -> None:
        seen.append(activity)

    dispatcher = Dispatcher()
    dispatcher.register("Follow", on_follow)
    worker = InboundWorker(dispatcher, clock)
    row = await store(clock, 1, obj="https://b.example/users/bob")
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0
    assert [a.activity_id for a in seen] == ["https://a.example/1"]
    assert seen[0].object_type is None
    assert (await state_of(row)).state == InboundState.DONE


async def test_exact_object_type_handlers_run_before_the_generic_ones(db, clock):
    calls: list[str] = []

    async def generic(activity: InboundActivity) -> None:
        calls.append("generic")

    async def notes(activity: InboundActivity) -> None:
        calls.append("note")

    dispatcher = Dispatcher()
    dispatcher.register("Create", generic)
    dispatcher.register("Create", notes, object_type="Note")
    await store(clock, 1, "Create", {"type": "Note", "content": "hi"})
    await store(clock, 2, "Create", {"type": "Question"})
    await InboundWorker(dispatcher, clock).run_once()
    # the Note: its own handler, then the generic one; the Question: the generic one only
    assert calls == ["note", "generic", "generic"]
    with pytest.raises(ValueError, match="already registered"):
        dispatcher.register("Create", notes, object_type="Note")


async def test_several_features_can_handle_one_type_and_a_failure_retries_them_all(db, clock):
    calls: list[str] = []

    async def members_feature(activity: InboundActivity) -> None:
        calls.append("members")

    async def partners_feature(activity: InboundActivity) -> None:
        calls.append("partners")
        if len(calls) < 3:
            raise RuntimeError("not yet")

    dispatcher = Dispatcher()
    dispatcher.register("Follow", members_feature)
    dispatcher.register("Follow", partners_feature)
    worker = InboundWorker(dispatcher, clock)
    row = await store(clock, 1)
    await worker.run_once()
    clock.advance(hours=1)
    await worker.run_once()
    assert calls == ["members", "partners", "members", "partners"]
    assert (await state_of(row)).state == InboundState.DONE


async def test_an_activity_without_handler_is_kept_as_ignored(db, clock):
    row = await store(clock, 1, "Like")
    note = await store(clock, 2, "Create", {"type": "Question"})
    assert await InboundWorker(Dispatcher(), clock).run_once() == 2
    kept = await state_of(row)
    assert (kept.state, kept.last_error) == (InboundState.IGNORED, "this node does not handle Like")
    assert kept.body["type"] == "Like"
    assert (await state_of(note)).last_error == "this node does not handle Create(Question)"


async def test_an_activity_no_handler_acts_on_is_ignored_with_their_reasons(db, clock):
    calls: list[str] = []

    def handler(name: str, acts_on: str | None):
        async def handle(activity: InboundActivity) -> None:
            calls.append(name)
            if activity.body.get("object") != acts_on:
                raise NotActedOn(f"not for {name}")

        return handle

    dispatcher = Dispatcher()
    dispatcher.register("Follow", handler("members", "member"))
    dispatcher.register("Follow", handler("partners", "node"))
    dispatcher.register("Follow", handler("echo", "nobody"))  # gives the same reason twice
    dispatcher.register("Follow", handler("echo", "nobody"))
    of_member = await store(clock, 1, obj="member")
    of_node = await store(clock, 2, obj="node")
    of_nobody = await store(clock, 3, obj="someone else")
    worker = InboundWorker(dispatcher, clock)
    assert await worker.run_once() == 3
    assert [((r := await state_of(row)).state, r.last_error) for row in (of_member, of_node)] == [
        (InboundState.DONE, ""),
        (InboundState.DONE, ""),
    ]
    ignored = await state_of(of_nobody)
    assert (ignored.state, ignored.attempts) == (InboundState.IGNORED, 0)
    assert ignored.last_error == "not for members; not for partners; not for echo"
    clock.advance(days=1)
    calls.clear()
    assert await worker.run_once() == 0  # not a failure: never retried
    assert calls == []


async def test_a_retry_that_succeeds_clears_the_error_of_the_failed_try(db, clock):
    failures = [RuntimeError("the other service is down")]

    async def flaky(activity: InboundActivity) -> None:
        if failures:
            raise failures.pop()

    dispatcher = Dispatcher()
    dispatcher.register("Follow", flaky)
    worker = InboundWorker(dispatcher, clock)
    row = await store(clock, 1)
    await worker.run_once()
    assert "the other service is down" in (await state_of(row)).last_error
    clock.advance(hours=1)
    await worker.run_once()
    assert ((done := await state_of(row)).state, done.last_error) == (InboundState.DONE, "")


async def test_a_failing_handler_is_retried_with_backoff_then_given_up(db, clock):
    attempts = 0

    async def flaky(activity: InboundActivity) -> None:
        nonlocal attempts
        attempts += 1
        raise RuntimeError("database of the other service is down")

    dispatcher = Dispatcher()
    dispatcher.register("Follow", flaky)
    policy = RetryPolicy(first_delay=timedelta(seconds=30), max_attempts=3, jitter=0.2)
    worker = InboundWorker(dispatcher, clock, policy=policy, rng=random.Random(7))
    row = await store(clock, 1)

    await worker.run_once()
    first = await state_of(row)
    assert (first.state, first.attempts) == (InboundState.PENDING, 1)
    assert "database of the other service is down" in first.last_error
    delay = first.next_attempt_at - clock.now
    assert timedelta(seconds=24) <= delay <= timedelta(seconds=36)

    assert await worker.run_once() == 0  # not due yet
    clock.advance(seconds=37)
    await worker.run_once()
    second = await state_of(row)
    assert second.attempts == 2
    assert timedelta(seconds=48) <= second.next_attempt_at - clock.now <= timedelta(seconds=72)

    clock.advance(seconds=73)
    await worker.run_once()
    assert (await state_of(row)).state == InboundState.FAILED
    assert attempts == 3
    clock.advance(days=1)
    assert await worker.run_once() == 0


def test_backoff_grows_exponentially_and_is_capped():
    policy = RetryPolicy(first_delay=timedelta(seconds=30), max_delay=timedelta(hours=6), jitter=0)
    rng = random.Random(1)
    delays = [policy.delay(n, rng) for n in (1, 2, 3, 20)]
    assert delays[:3] == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert delays[3] == timedelta(hours=6)


async def test_the_background_loop_processes_new_work_when_woken_and_stops(db, clock):
    done = asyncio.Event()

    async def on_follow(activity: InboundActivity) -> None:
        done.set()

    dispatcher = Dispatcher()
    dispatcher.register("Follow", on_follow)
    worker = InboundWorker(dispatcher, clock)
    stop = asyncio.Event()
    # A long poll interval: only wake() can make the loop see the row quickly.
    task = asyncio.create_task(worker.run(stop, poll_interval=3600))
    await asyncio.sleep(0)
    await store(clock, 1)
    worker.wake()
    await asyncio.wait_for(done.wait(), timeout=30)
    stop.set()
    await asyncio.wait_for(task, timeout=30)
    assert task.done()
    assert task.exception() is None


async def test_rows_claimed_by_a_worker_that_died_are_processed_after_the_lease(db, clock):
    seen: list[str] = []

    async def on_follow(activity: InboundActivity) -> None:
        seen.append(activity.activity_id)

    dispatcher = Dispatcher()
    dispatcher.register("Follow", on_follow)
    await store(clock, 1)
    # A worker claims the row (lease) and dies before processing it.
    await InboundMessage.all().update(lease_until=clock.now + timedelta(minutes=5))
    worker = InboundWorker(dispatcher, clock)
    assert await worker.run_once() == 0
    clock.advance(minutes=6)
    assert await worker.run_once() == 1
    assert seen == ["https://a.example/1"]


async def test_errors_quoting_remote_data_are_stored_safely(db, clock):
    async def quoting(activity: InboundActivity) -> None:
        raise ValueError("remote said \x00 and \ud800")

    dispatcher = Dispatcher()
    dispatcher.register("Follow", quoting)
    row = await store(clock, 1)
    await store(clock, 2)
    assert await InboundWorker(dispatcher, clock).run_once() == 2
    kept = await state_of(row)
    assert kept.attempts == 1
    assert "\x00" not in kept.last_error
    assert kept.last_error.startswith("ValueError: remote said")


async def test_one_actors_activities_are_processed_in_arrival_order(db, clock):
    seen: list[str] = []

    async def on_any(activity: InboundActivity) -> None:
        await asyncio.sleep(0.001 * (5 - len(seen)))  # earlier rows finish later if run at once
        seen.append(activity.activity_id)

    dispatcher = Dispatcher()
    for kind in ("Create", "Update", "Delete"):
        dispatcher.register(kind, on_any)
    worker = InboundWorker(dispatcher, clock)
    for n, kind in enumerate(("Create", "Update", "Delete", "Create", "Delete")):
        await store(clock, n, kind)
    assert await worker.run_once() == 5
    assert seen == [f"https://a.example/{n}" for n in range(5)]


async def test_an_actor_whose_handler_waits_does_not_hold_up_the_others(db, clock):
    slow_started = asyncio.Event()
    release = asyncio.Event()
    done: list[str] = []

    async def on_create(activity: InboundActivity) -> None:
        if activity.actor == "https://slow.example/u":
            slow_started.set()
            await release.wait()  # a fetch from a server that does not answer
        done.append(activity.actor)

    dispatcher = Dispatcher()
    dispatcher.register("Create", on_create)
    worker = InboundWorker(dispatcher, clock)
    await store(clock, 1, "Create", actor="https://slow.example/u")
    for n in range(2, 6):
        await store(clock, n, "Create", actor=f"https://fast{n}.example/u")
    cycle = asyncio.ensure_future(worker.run_once())
    await slow_started.wait()
    for _ in range(50):  # the fast actors finish while the slow one still waits
        if len(done) == 4:
            break
        await asyncio.sleep(0.01)
    assert sorted(done) == [f"https://fast{n}.example/u" for n in range(2, 6)]
    assert not cycle.done()
    release.set()
    assert await cycle == 5
    assert done[-1] == "https://slow.example/u"
    assert await InboundMessage.filter(state=InboundState.DONE).count() == 5


async def test_no_more_than_the_configured_number_of_actors_run_at_once(db, clock):
    running = peak = 0

    async def on_create(activity: InboundActivity) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.005)
        running -= 1

    dispatcher = Dispatcher()
    dispatcher.register("Create", on_create)
    worker = InboundWorker(dispatcher, clock, concurrency=3)
    for n in range(12):
        await store(clock, n, "Create", actor=f"https://h{n}.example/u")
    assert await worker.run_once() == 12
    assert peak == 3


async def test_a_long_batch_keeps_its_rows_from_other_workers(db, clock):
    release, stuck = asyncio.Event(), asyncio.Event()
    calls: list[str] = []

    async def on_create(activity: InboundActivity) -> None:
        calls.append(activity.activity_id)
        if activity.activity_id.endswith("/3"):
            stuck.set()
            await release.wait()  # a handler waiting long on some server

    dispatcher = Dispatcher()
    dispatcher.register("Create", on_create)
    for n in range(1, 4):
        await store(clock, n, "Create")
    first = InboundWorker(dispatcher, clock, renew_every=0.01)
    batch = asyncio.ensure_future(first.run_once())
    await stuck.wait()
    clock.advance(minutes=6)  # past the claim's lease
    await asyncio.sleep(0.05)  # a renewal or two, at the clock's new time
    other = InboundWorker(dispatcher, clock)
    assert await other.run_once() == 0  # renewed: nothing for another worker to take
    release.set()
    assert await batch == 3
    assert calls == [f"https://a.example/{n}" for n in range(1, 4)]  # each handled once
    assert await InboundMessage.filter(state=InboundState.DONE).count() == 3


async def test_a_handler_stuck_past_its_timeout_counts_as_failed_and_is_retried(db, clock):
    async def on_create(activity: InboundActivity) -> None:
        await asyncio.Event().wait()  # never returns

    dispatcher = Dispatcher()
    dispatcher.register("Create", on_create)
    row = await store(clock, 1, "Create")
    worker = InboundWorker(dispatcher, clock, handler_timeout=timedelta(seconds=0.05))
    assert await worker.run_once() == 1
    stuck = await state_of(row)
    assert (stuck.state, stuck.attempts) == (InboundState.PENDING, 1)
    assert stuck.last_error.startswith("TimeoutError")
    assert stuck.next_attempt_at > clock.now


async def test_work_announced_while_a_cycle_runs_is_not_left_for_the_next_poll():
    cycles = 0
    second_cycle = asyncio.Event()
    wake, stop = asyncio.Event(), asyncio.Event()

    async def cycle() -> int:
        nonlocal cycles
        cycles += 1
        if cycles == 1:
            wake.set()  # new work arrives while this (empty) cycle is running
        else:
            second_cycle.set()
        return 0

    task = asyncio.create_task(poll_loop(cycle, wake, stop, 3600, "test"))
    await asyncio.wait_for(second_cycle.wait(), timeout=5)  # not after the 3600 s poll
    stop.set()
    await asyncio.wait_for(task, timeout=5)


async def test_while_the_inbox_is_busy_claims_are_smaller_and_the_backlog_still_drains(db, clock):
    seen: list[str] = []

    async def on_follow(activity: InboundActivity) -> None:
        seen.append(activity.activity_id)

    dispatcher = Dispatcher()
    dispatcher.register("Follow", on_follow)
    load = InboxLoad()
    worker = InboundWorker(dispatcher, clock, load=load, busy_batch_size=3)
    for n in range(10):
        await store(clock, n)
    with load.request():  # a sender waits for its 202 the whole time
        claims = [await worker.run_once() for _ in range(5)]
    assert claims == [3, 3, 3, 1, 0]  # at least a row per cycle: never starved
    assert seen == [f"https://a.example/{n}" for n in range(10)]  # in arrival order
    assert await InboundMessage.filter(state=InboundState.DONE).count() == 10
    for n in range(10, 30):
        await store(clock, n)
    assert load.in_flight == 0
    assert await worker.run_once() == 20  # idle inbox: full claims again


async def test_the_backlog_drains_while_the_inbox_keeps_accepting(db, clock):
    total = 60
    processed = asyncio.Event()
    seen: list[str] = []
    load = InboxLoad()

    async def on_create(activity: InboundActivity) -> None:
        seen.append(activity.activity_id)
        if len(seen) == total:
            processed.set()

    dispatcher = Dispatcher()
    dispatcher.register("Create", on_create)
    writer = InboxWriter()
    worker = InboundWorker(dispatcher, clock, load=load, busy_batch_size=2)

    async def deliver(n: int) -> bool:
        with load.request():
            body = {
                "id": f"https://a.example/{n}",
                "type": "Create",
                "actor": "https://a.example/u",
            }
            message = NewInbound(
                activity_id=str(body["id"]),
                actor=str(body["actor"]),
                activity_type="Create",
                recipient=None,
                body=body,
                received_at=clock.now,
                next_attempt_at=clock.now,
            )
            stored = await writer.store(message)
            worker.wake()
            return stored

    assert all(await asyncio.gather(*(deliver(n) for n in range(20))))  # a backlog first
    stop = asyncio.Event()
    # An hour between polls: the worker goes on because it finds work, not because it polls.
    running = asyncio.create_task(worker.run(stop, poll_interval=3600))
    with load.request():  # one slow sender stays in flight: the inbox is never idle
        for start in range(20, total, 10):  # and more deliveries keep arriving
            accepted = await asyncio.gather(*(deliver(n) for n in range(start, start + 10)))
            assert all(accepted)
        await asyncio.wait_for(processed.wait(), timeout=60)  # a hang guard, not a timing
        assert load.in_flight == 1
    stop.set()
    await asyncio.wait_for(running, timeout=30)
    assert sorted(seen) == sorted(f"https://a.example/{n}" for n in range(total))
    assert await InboundMessage.filter(state=InboundState.DONE).count() == total
    assert await InboundMessage.filter(state=InboundState.PENDING).count() == 0


async def test_an_actor_whose_rows_another_worker_holds_is_left_to_that_worker(db, clock):
    seen: list[str] = []

    async def on_create(activity: InboundActivity) -> None:
        seen.append(activity.activity_id)

    dispatcher = Dispatcher()
    dispatcher.register("Create", on_create)
    held = await store(clock, 1, "Create", actor="https://busy.example/u")
    await store(clock, 2, "Create", actor="https://busy.example/u")  # its next activity
    await store(clock, 3, "Create", actor="https://free.example/u")
    # Another worker holds the first row (its Create is in progress).
    await InboundMessage.filter(id=held.id).update(lease_until=clock.now + timedelta(minutes=5))
    worker = InboundWorker(dispatcher, clock)
    assert await worker.run_once() == 1
    assert seen == ["https://free.example/3"]  # not the busy actor's next row
    clock.advance(minutes=6)  # that worker died: its lease ends, the actor is free again
    assert await worker.run_once() == 2
    assert seen[1:] == ["https://busy.example/1", "https://busy.example/2"]
