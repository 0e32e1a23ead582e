"""A local inbox sink for the delivery benchmarks: accepts every POST, answers 202, counts.

One aiohttp process, no middleware (the benchmarks check one signed request themselves, from
the sample this server keeps). Routes, the same on every port:

* ``POST /inbox/{n}``: reads the body, counts the request and ``n``, answers ``202 Accepted``;
* ``GET /stats``: ``{"posts": total POSTs, "distinct": distinct n, "sample": first request,
  "nodeinfo_gets": NodeInfo requests, "refused": POSTs answered 401}``, where the sample holds
  the path, headers and body of the first POST since the last reset;
* ``POST /reset``: forgets the counts and the sample;
* with ``--software NAME``: ``GET /.well-known/nodeinfo`` links to ``/nodeinfo/2.1``, which
  names ``NAME`` as the software, so the sender can tell a Quartier node (``quartier``) from
  another server. For any name but ``quartier`` the inboxes are draft-cavage only, like
  Mastodon 4.3: a POST whose ``Signature`` header is not draft-cavage (no ``keyId=``, e.g.
  RFC 9421 alone) is answered 401 and counted only as ``refused``, as such a server refuses
  it (a sender's "double knock" then sends it again signed draft-cavage).

``--ports N --ports-file FILE`` listens on N ports the kernel chooses (each a host of its own
for the sender) and writes them to FILE (JSON) once all listen; ``--stall-ports K`` adds K
ports (listed after the others) whose inbox reads the request and never answers: a host that
is up but hangs.

    .venv/bin/python bench/sink_server.py --port 8098 [--software quartier]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from importlib import metadata
from pathlib import Path
from typing import Any

from aiohttp import web

STATE = web.AppKey("state", dict)
SOFTWARE = web.AppKey("software", str)
STALLED = web.AppKey("stalled", set)
NODEINFO_21 = "http://nodeinfo.diaspora.software/ns/schema/2.1"


async def inbox(request: web.Request) -> web.Response:
    """Count the POST, keep the first one as a sample, answer 202 at once."""
    body = await request.read()
    if request.transport is not None:
        sockname = request.transport.get_extra_info("sockname")
        if sockname and sockname[1] in request.app[STALLED]:
            await asyncio.sleep(3600)  # up, but never answers within any sender's timeout
    software = request.app[SOFTWARE]
    if software and software != "quartier" and "keyId=" not in request.headers.get("Signature", ""):
        request.app[STATE]["refused"] += 1
        return web.Response(status=401, text="draft-cavage signature required")
    state = request.app[STATE]
    state["posts"] += 1
    state["seen"].add(request.match_info["n"])
    if state["sample"] is None:
        state["sample"] = {
            "path": request.raw_path,
            "headers": list(request.headers.items()),
            "body": body.decode("utf-8", errors="replace"),
        }
    return web.Response(status=202)


async def nodeinfo_index(request: web.Request) -> web.Response:
    """``/.well-known/nodeinfo``: where the NodeInfo 2.1 document is."""
    request.app[STATE]["nodeinfo_gets"] += 1
    href = f"http://{request.host}/nodeinfo/2.1"
    return web.json_response({"links": [{"rel": NODEINFO_21, "href": href}]})


async def nodeinfo(request: web.Request) -> web.Response:
    """NodeInfo 2.1 naming the software this sink stands for."""
    software = request.app[SOFTWARE]
    # Quartier's own version (the peer runs the same code); Mastodon's last before RFC 9421.
    version = metadata.version("quartier") if software == "quartier" else "4.3.2"
    return web.json_response(
        {
            "version": "2.1",
            "software": {"name": software, "version": version},
            "protocols": ["activitypub"],
            "services": {"inbound": [], "outbound": []},
            "openRegistrations": False,
            "usage": {"users": {"total": 1}},
            "metadata": {},
        }
    )


async def stats(request: web.Request) -> web.Response:
    """The counts since the last reset, and the sample request."""
    state = request.app[STATE]
    return web.json_response(
        {
            "posts": state["posts"],
            "distinct": len(state["seen"]),
            "sample": state["sample"],
            "nodeinfo_gets": state["nodeinfo_gets"],
            "refused": state["refused"],
        }
    )


async def reset(request: web.Request) -> web.Response:
    """Start counting from zero."""
    request.app[STATE].update(_fresh_state())
    return web.json_response({"ok": True})


def _fresh_state() -> dict[str, Any]:
    return {"posts": 0, "seen": set(), "sample": None, "nodeinfo_gets": 0, "refused": 0}


def create_app(software: str = "") -> web.Application:
    """The sink application; ``software`` names it in NodeInfo (none served when empty)."""
    app = web.Application(client_max_size=1_048_576)
    app[STATE] = _fresh_state()
    app[SOFTWARE] = software
    app[STALLED] = set()
    app.router.add_post("/inbox/{n}", inbox)
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    if software:
        app.router.add_get("/.well-known/nodeinfo", nodeinfo_index)
        app.router.add_get("/nodeinfo/2.1", nodeinfo)
    return app


async def serve(
    app: web.Application, host: str, ports: list[int], stall: int, ports_file: Path | None
) -> None:
    """``app`` on every port of ``ports`` (0: the kernel picks) and ``stall`` more stalling
    ones; the ports written to ``ports_file`` (complete or absent); until SIGTERM/SIGINT."""
    # access_log=None: a log line per request would make the sink the bottleneck.
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        for port in ports:
            await web.TCPSite(runner, host, port).start()
        for _ in range(stall):
            await web.TCPSite(runner, host, 0).start()
        listening = [int(address[1]) for address in runner.addresses]
        app[STALLED].update(listening[len(ports) :])
        if ports_file is not None:
            partial = ports_file.with_suffix(".tmp")
            partial.write_text(json.dumps(listening), encoding="ascii")
            partial.rename(ports_file)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    """Serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="one given port")
    parser.add_argument("--ports", type=int, default=1, help="ports the kernel chooses")
    parser.add_argument("--ports-file", type=Path, default=None, help="where to write them")
    parser.add_argument("--stall-ports", type=int, default=0, help="ports that never answer")
    parser.add_argument("--software", default="", help="NodeInfo software name (none: no NodeInfo)")
    args = parser.parse_args()
    ports = [args.port] if args.port is not None else [0] * args.ports
    app = create_app(args.software)
    asyncio.run(serve(app, args.host, ports, args.stall_ports, args.ports_file))


if __name__ == "__main__":
    main()
