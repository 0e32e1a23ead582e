"""The residency credentials a node issues, as another server reads them: linked from the
member's actor document while they are verified, signed by the node's Ed25519 key (checked
here with the protocol layer, as a remote verifier does), and revoked in the node's status
list, with a 410 at their URL, the moment the verification is taken back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from yarl import URL

from activitypub.attestations import (
    ENDORSEMENT_CREDENTIAL,
    RESIDENCY_CREDENTIAL,
    check_status,
    verify_credential,
    verify_status_list,
)
from activitypub.errors import CredentialRejected, CredentialRejection
from activitypub.keys import multibase_to_ed25519
from node.db import activated
from node.http.keys import ACTOR_DOCUMENTS, CREDENTIALS, DATABASE
from node.members.models import Member, Verification, VerificationMethod
from tests.api import bearer, error_of, login

AP = {"Accept": "application/activity+json"}


async def verify(node, token: str, username: str, verified: bool = True) -> None:
    resp = await node.post(
        f"/api/quartier/v1/admin/members/{username}/verification",
        json={"verified": verified, "reason": "known to the caretaker"},
        headers=bearer(token),
    )
    assert resp.status == 200, await resp.text()


async def json_of(node, path: str, status: int = 200) -> Any:
    resp = await node.get(path, headers=AP)
    assert resp.status == status, await resp.text()
    return await resp.json(content_type=None) if status == 200 else None


async def node_key(node):
    actor = await json_of(node, "/actor")
    (method,) = actor["assertionMethod"]
    return method["id"], multibase_to_ed25519(method["publicKeyMultibase"])


async def test_a_verified_member_carries_a_credential_any_verifier_can_check(node, people, clock):
    person = await json_of(node, "/users/bea")
    assert "residencyCredential" not in person
    assert "attachment" not in person
    await verify(node, people["ada"], "bea")
    person = await json_of(node, "/users/bea")
    url = person["residencyCredential"]
    assert person["attachment"][0]["name"] == "Verified resident"
    path = URL(url).path
    resp = await node.get(path)
    assert resp.headers["Content-Type"].startswith("application/vc")
    credential = await resp.json(content_type=None)
    key_id, key = await node_key(node)
    assert credential["proof"]["verificationMethod"] == key_id
    claims = verify_credential(
        credential,
        key,
        now=clock.now,
        expected_type=RESIDENCY_CREDENTIAL,
        expected_subject=person["id"],
    )
    assert claims.issuer == (await json_of(node, "/actor"))["id"]
    assert claims.method == "manager"
    assert (claims.valid_until - claims.valid_from).days == 365
    assert "real_name" not in str(credential)
    assert "Bea" not in str(credential)
    status_list = verify_status_list(
        await json_of(node, "/credentials/status/revocation"),
        key,
        now=clock.now,
        issuer=claims.issuer,
    )
    assert claims.status is not None
    check_status(claims.status, status_list)  # not revoked

    await verify(node, people["ada"], "bea", verified=False)
    assert "residencyCredential" not in await json_of(node, "/users/bea")
    assert await json_of(node, path, status=410) is None
    status_list = verify_status_list(
        await json_of(node, "/credentials/status/revocation"),
        key,
        now=clock.now,
        issuer=claims.issuer,
    )
    with pytest.raises(CredentialRejected) as rejected:
        check_status(claims.status, status_list)
    assert rejected.value.reason is CredentialRejection.REVOKED


async def test_a_credential_is_renewed_before_it_ends_while_the_member_stays_verified(
    node, people, clock
):
    await verify(node, people["ada"], "bea")
    url = (await json_of(node, "/users/bea"))["residencyCredential"]
    path = URL(url).path
    first = await json_of(node, path)
    clock.advance(days=340)
    with activated(node.app[DATABASE]):
        assert await node.app[CREDENTIALS].renew_due() == 1
    renewed = await json_of(node, path)
    assert renewed["id"] == first["id"]
    assert renewed["credentialStatus"] == first["credentialStatus"]
    assert renewed["validUntil"] > first["validUntil"]
    _, key = await node_key(node)
    verify_credential(renewed, key, now=clock.now, expected_type=RESIDENCY_CREDENTIAL)


async def test_members_verified_without_a_credential_get_one_from_the_sweep(node, people, clock):
    """Members verified before credentials existed (or whose credential ended while the node
    was down past its renewal) get one at the next sweep, and only they."""
    with activated(node.app[DATABASE]):
        await Member.filter(username="bea").update(
            verification=Verification.VERIFIED,
            verification_method=VerificationMethod.MANAGER,
            verified_at=clock.now,
        )
        assert await node.app[CREDENTIALS].issue_missing() == 1
        assert await node.app[CREDENTIALS].issue_missing() == 0
    person = await json_of(node, "/users/bea")
    credential = await json_of(node, URL(person["residencyCredential"]).path)
    _, key = await node_key(node)
    claims = verify_credential(credential, key, now=clock.now, expected_type=RESIDENCY_CREDENTIAL)
    assert claims.subject == person["id"]
    assert "residencyCredential" not in await json_of(node, "/users/cyd")
    # lapsed: the node was down from before renewal until after the end
    clock.advance(days=400)
    node.app[ACTOR_DOCUMENTS].invalidate("bea")  # served from a 60 s cache otherwise
    assert "residencyCredential" not in await json_of(node, "/users/bea")
    with activated(node.app[DATABASE]):
        assert await node.app[CREDENTIALS].issue_missing() == 1
    assert "residencyCredential" in await json_of(node, "/users/bea")


async def test_an_endorsement_is_renewed_before_it_ends_and_served_until_revoked(
    node, people, clock
):
    district = "https://district.example/actor"
    resp = await node.post(
        "/api/quartier/v1/admin/endorsements",
        json={"node": district, "name": "Les Tilleuls", "area": "Lyon 4e"},
        headers=bearer(people["ada"]),
    )
    assert resp.status == 201, await resp.text()
    assert (await json_of(node, "/actor"))["endorsements"].endswith("/credentials/endorsements")
    clock.advance(days=340)
    with activated(node.app[DATABASE]):
        assert await node.app[CREDENTIALS].renew_due() == 1
    [renewed] = (await json_of(node, "/credentials/endorsements"))["orderedItems"]
    _, key = await node_key(node)
    claims = verify_credential(
        renewed,
        key,
        now=clock.now,
        expected_type=ENDORSEMENT_CREDENTIAL,
        expected_subject=district,
    )
    assert claims.valid_until == clock.now + timedelta(days=365)
    ada = await login(node, "ada")  # the first session ended long ago
    resp = await node.delete(
        "/api/quartier/v1/admin/endorsements", params={"node": district}, headers=bearer(ada)
    )
    assert resp.status == 204
    assert (await json_of(node, "/credentials/endorsements"))["orderedItems"] == []
    resp = await node.post(
        "/api/quartier/v1/admin/endorsements",
        json={"node": district, "name": "x"},
        headers=bearer(await login(node, "bea")),
    )
    assert resp.status == 403  # admins only


async def test_lookups_and_endorsements_refuse_bad_input_with_clear_errors(node, people):
    """What a client sends wrong is named, never a 500; strangers get 401, residents 403."""
    lookup = "/api/quartier/v1/verification"
    for params in (
        [],
        [("actor", "not a url")],
        [("actor", "https://x.example/u\x00")],
        [("actor", "https://x.example/" + "a" * 2100)],
        [("actor", f"https://x.example/u{n}") for n in range(41)],
    ):
        resp = await node.get(lookup, params=params, headers=bearer(people["bea"]))
        error = await error_of(resp, 422, "validation_failed")
        assert [d["field"] for d in error["details"]] == ["actor"]
    for body in (
        {"node": "tilleuls.example", "name": "Les Tilleuls"},  # not an actor URL
        {"node": "https://tilleuls.example/actor"},  # no name
        {"node": "https://tilleuls.example/actor", "name": "x" * 201},
        {"node": "https://tilleuls.example/actor", "name": "Les Tilleuls", "extra": 1},
    ):
        resp = await node.post(
            "/api/quartier/v1/admin/endorsements", json=body, headers=bearer(people["ada"])
        )
        await error_of(resp, 422, "validation_failed")
    resp = await node.delete(
        "/api/quartier/v1/admin/endorsements",
        params={"node": "https://nobody.example/actor"},
        headers=bearer(people["ada"]),
    )
    await error_of(resp, 404, "not_found")
    resp = await node.get("/api/quartier/v1/admin/endorsements", headers=bearer(people["bea"]))
    await error_of(resp, 403, "forbidden")
    node.session.cookie_jar.clear()
    resp = await node.get(lookup, params={"actor": "https://x.example/u"})
    await error_of(resp, 401, "unauthorized")
