"""A bare aiohttp server: the baseline the node is compared against.

One process, no middleware, no database, two baselines:

* ``GET /users/{username}`` answers an actor-shaped JSON document, serialised on every request
  like the node does, with the same headers. Whatever the node costs beyond this is Quartier's
  own overhead (middlewares, ORM query, rendering), which is what the ratio in ``node_bench.py``
  measures.
* ``POST /inbox`` reads the whole body and answers 202, nothing else: no parsing, no signature,
  no storage. ``inbox_bench.py`` sends it the same signed deliveries as the node's inbox.

    .venv/bin/python bench/bare_server.py --port 8099 [--document actor.json]
        [--documents docs.json] [--processes N]

``--document`` serves exactly the node's document (``node_bench.py`` passes the one it fetched
from the node, so both sides send the same bytes); without it a representative actor document of
similar size is built. ``--documents`` is a JSON object mapping paths to documents, each served
at its exact path (with the same headers): ``inbox_bench.py`` serves its remote senders' actor
documents this way, for the node to fetch their keys. ``--api`` is a JSON object ``{"path",
"body", "headers"}``: an answer of the node's client API (``client_api_bench.py`` passes the
home timeline it fetched), served at ``path`` with those headers, its body (any JSON value)
serialised per request. ``--processes N`` serves from N forked processes sharing the port
(``SO_REUSEPORT``, as ``quartier serve --processes N`` does; the kernel spreads the
connections); the parent only forwards SIGTERM/SIGINT to them and waits.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

# Same as the node's actor responses (node/http/actors.py), so header work is identical.
_HEADERS = {"Content-Type": "application/activity+json; charset=utf-8", "Vary": "Accept"}
DOCUMENT = web.AppKey("document", dict)


def representative_document(origin: str = "http://127.0.0.1:8080") -> dict[str, Any]:
    """An actor document shaped and sized like a member's ``Person`` (RSA-2048 PEM included)."""
    actor_id = f"{origin}/users/alice"
    # Random bytes of the length of a DER SubjectPublicKeyInfo for RSA-2048 give a PEM of the
    # same size as a real key without generating one.
    body = base64.encodebytes(os.urandom(294)).decode().replace("\n", "")
    pem_lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    pem = "-----BEGIN PUBLIC KEY-----\n" + "\n".join(pem_lines) + "\n-----END PUBLIC KEY-----\n"
    return {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            "https://w3id.org/security/v1",
            "https://w3id.org/security/multikey/v1",
            {"manuallyApprovesFollowers": "as:manuallyApprovesFollowers"},
        ],
        "id": actor_id,
        "type": "Person",
        "preferredUsername": "alice",
        "name": "Alice Bench",
        "summary": "",
        "url": actor_id,
        "inbox": f"{actor_id}/inbox",
        "outbox": f"{actor_id}/outbox",
        "followers": f"{actor_id}/followers",
        "following": f"{actor_id}/following",
        "endpoints": {"sharedInbox": f"{origin}/inbox"},
        "manuallyApprovesFollowers": True,
        "published": "2025-01-01T00:00:00Z",
        "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id, "publicKeyPem": pem},
        "assertionMethod": [
            {
                "id": f"{actor_id}#ed25519-key",
                "type": "Multikey",
                "controller": actor_id,
                "publicKeyMultibase": "z6Mk" + "x" * 44,
            }
        ],
    }


async def actor(request: web.Request) -> web.Response:
    """The document, serialised per request (the node serialises per request too)."""
    return web.Response(text=json.dumps(request.app[DOCUMENT]), headers=_HEADERS)


async def inbox(request: web.Request) -> web.Response:
    """The bare inbox: read the body, answer 202."""
    await request.read()
    return web.Response(status=202)


def _serve(document: dict[str, Any]) -> Any:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(document), headers=_HEADERS)

    return handler


def _serve_api(body: Any, headers: dict[str, str]) -> Any:
    # Serialised as the node's client API does (node/http/mastodon/common.py: reply).
    async def handler(request: web.Request) -> web.Response:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return web.Response(body=text.encode("utf-8"), headers=headers)

    return handler


def create_app(
    document: dict[str, Any],
    documents: dict[str, dict[str, Any]] | None = None,
    api: dict[str, Any] | None = None,
) -> web.Application:
    """The bare application: the actor route, the bare inbox, and ``documents`` by path.

    The body limit is the node's default (``server.max_body_bytes``)."""
    app = web.Application(client_max_size=1_048_576)
    app[DOCUMENT] = document
    for path, doc in (documents or {}).items():
        app.router.add_get(path, _serve(doc))
    if api is not None:
        app.router.add_get(api["path"], _serve_api(api["body"], api["headers"]))
    app.router.add_get("/users/{username}", actor)
    app.router.add_post("/inbox", inbox)
    return app


def in_processes(count: int, serve: Callable[[], None]) -> None:
    """``serve()`` here, or in ``count`` forked children (before any event loop exists) that
    the parent stops with SIGTERM when it gets SIGTERM or SIGINT."""
    if count == 1:
        serve()
        return
    children: list[int] = []

    def stop(signum: int, frame: object) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)  # not the parent's; run_app sets its own
            try:
                serve()
            finally:
                os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)


def main() -> None:
    """Serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--document", type=Path, default=None, help="JSON file to serve")
    parser.add_argument(
        "--documents", type=Path, default=None, help="JSON object: path -> document to serve"
    )
    parser.add_argument(
        "--api", type=Path, default=None, help='JSON object {"path", "body", "headers"} to serve'
    )
    parser.add_argument("--processes", type=int, default=1, help="processes sharing the port")
    args = parser.parse_args()
    if args.document is not None:
        document = json.loads(args.document.read_text(encoding="utf-8"))
    else:
        document = representative_document()
    documents = None
    if args.documents is not None:
        documents = json.loads(args.documents.read_text(encoding="utf-8"))
    api = None
    if args.api is not None:
        api = json.loads(args.api.read_text(encoding="utf-8"))
    # access_log=None like the node's runner: neither side pays for access logging.
    in_processes(
        args.processes,
        lambda: web.run_app(
            create_app(document, documents, api),
            host=args.host,
            port=args.port,
            access_log=None,
            print=None,
            reuse_port=args.processes > 1,
        ),
    )


if __name__ == "__main__":
    main()
