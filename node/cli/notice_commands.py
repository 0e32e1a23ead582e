"""``quartier notices list | publish | delete``: notices from the server's shell.

For a town hall's or a landlord's own systems (a scheduled job announcing the weekly market, an
alert script): the same checks and the same delivery as the API, on behalf of a member whose
role the community lets publish (``governance.notices_by``). A running node's worker sends what
``publish`` and ``delete`` queue.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from activitypub.properties import format_timestamp
from node.cli.common import _node, _settings
from node.http.keys import MEMBERS, NOTICES
from node.http.parsing import validate
from node.notices.forms import NewNotice
from node.notices.models import Notice
from node.notices.service import NoticeForm


async def _notices_list(args: argparse.Namespace) -> int:
    async with _node(_settings(args)) as app:
        service = app[NOTICES]
        rows = await service.past(None, 100) if args.past else await service.current()
        shown = [_summary(n) for n in rows]
    if args.json:
        print(json.dumps(shown, indent=2, ensure_ascii=False))
    elif not shown:
        print("no past notices" if args.past else "no current notices")
    for n in [] if args.json else shown:
        until = f" until {n['ends_at']}" if n["ends_at"] else ""
        print(f"{n['id']:>6}  {n['kind']:<11} {n['title']}  ({n['from']}{until})")
    return 0


async def _notices_publish(args: argparse.Namespace) -> int:
    text = args.text
    if args.text_file == "-":
        text = sys.stdin.read()
    elif args.text_file is not None:
        try:
            text = Path(args.text_file).read_text(encoding="utf-8")  # noqa: ASYNC240 - a CLI
        except (OSError, UnicodeDecodeError) as exc:
            print(f"quartier: cannot read {args.text_file}: {exc}", file=sys.stderr)
            return 1
    fields: dict[str, Any] = {"kind": args.kind, "title": args.title, "text": text or ""}
    for name in ("place", "starts_at", "ends_at"):
        if getattr(args, name):
            fields[name] = getattr(args, name)
    fields["audience"], fields["public"] = args.audience, args.public
    if args.circle:
        fields["circle"] = args.circle
    form = validate(NewNotice, fields)  # the API's checks, with the same messages
    async with _node(_settings(args)) as app:
        member = await app[MEMBERS].get(args.as_member)
        notice = await app[NOTICES].publish(
            member,
            NoticeForm(
                terms=form.terms(), audience=form.audience, public=form.public, circle=form.circle
            ),
        )
    print(f"published notice {notice.id}: {notice.ap_id}")
    return 0


async def _notices_delete(args: argparse.Namespace) -> int:
    async with _node(_settings(args)) as app:
        member = await app[MEMBERS].get(args.as_member)
        await app[NOTICES].withdraw(member, args.id)
    print(f"deleted notice {args.id}")
    return 0


def _summary(notice: Notice) -> dict[str, Any]:
    return {
        "id": notice.id,
        "kind": notice.kind,
        "title": notice.title,
        "from": notice.origin_host,
        "audience": notice.audience.value,
        "ends_at": format_timestamp(notice.ends_at),
        "uri": notice.ap_id,
    }
