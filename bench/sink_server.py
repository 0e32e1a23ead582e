"""A local inbox sink for ``federation_bench.py``: accepts every POST, answers 202, counts.

One aiohttp process, no middleware, no signature check (the benchmark checks one signed request
itself, from the sample this server keeps). Routes:

* ``POST /inbox/{n}``: reads the body, counts the request and ``n``, answers ``202 Accepted``;
* ``GET /stats``: ``{"posts": total POSTs, "distinct": distinct n, "sample": first request}``,
  where the sample holds the path, headers and body of the first POST since the last reset;
* ``POST /reset``: forgets the counts and the sample.

    .venv/bin/python bench/sink_server.py --port 8098
"""

from __future__ import annotations

import argparse
from typing import Any

from aiohttp import web

STATE = web.AppKey("state", dict)


async def inbox(request: web.Request) -> web.Response:
    """Count the POST, keep the first one as a sample, answer 202 at once."""
    body = await request.read()
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


async def stats(request: web.Request) -> web.Response:
    """The counts since the last reset, and the sample request."""
    state = request.app[STATE]
    return web.json_response(
        {"posts": state["posts"], "distinct": len(state["seen"]), "sample": state["sample"]}
    )


async def reset(request: web.Request) -> web.Response:
    """Start counting from zero."""
    request.app[STATE].update(_fresh_state())
    return web.json_response({"ok": True})


def _fresh_state() -> dict[str, Any]:
    return {"posts": 0, "seen": set(), "sample": None}


def create_app() -> web.Application:
    """The sink application."""
    app = web.Application(client_max_size=1_048_576)
    app[STATE] = _fresh_state()
    app.router.add_post("/inbox/{n}", inbox)
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    return app


def main() -> None:
    """Serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # access_log=None: a log line per request would make the sink the bottleneck.
    web.run_app(create_app(), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
