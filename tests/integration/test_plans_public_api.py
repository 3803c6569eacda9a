"""The public, anonymous read API of the plans service against the real database: every filter,
cursor pagination, full-text search in the four languages, the plan page's cache and ETag, the
422s, and that no point of contact's details ever appear.

One service and one data set serve the whole module (seeding through the HTTP write API takes a
few seconds). The tests that write come last in the file and add their own plans.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import httpx
import pytest

from devstack.kafka import KafkaNode
from devstack.mail import MailCatcher
from devstack.postgres import PostgresCluster
from services.plans.service import SPEC as PLANS
from services.plans.settings import PlansSettings
from tests.conftest import Env, client, running, token
from tests.helpers import assert_problem

STAFF = token("staff")
CONTACT = {
    "name": "Lina Haddad",
    "email": "lina.haddad@example.org",
    "phone": "+962790000001",
    "language": "ar",
}
SECRETS = ("lina.haddad@example.org", "Lina Haddad", "+962790000001")


@dataclass
class World:
    """What the module seeded, by name."""

    api: httpx.AsyncClient
    members: dict[str, str] = field(default_factory=dict)
    plans: dict[str, str] = field(default_factory=dict)
    commitments: dict[str, str] = field(default_factory=dict)
    contact_ids: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def module_env(kafka: KafkaNode, pg: PostgresCluster, mail: MailCatcher) -> Iterator[Env]:
    e = Env(kafka, pg, mail)
    yield e
    e.drop()


async def ok(r: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


async def add_member(w: World, key: str, name: str, kind: str, region: str | None) -> str:
    body = {"name": name, "kind": kind, "region": region}
    w.members[key] = str((await ok(await w.api.post("/v1/members", json=body, headers=STAFF)))["id"])
    return w.members[key]


async def add_plan(w: World, key: str, member: str, start: str, end: str, **extra: Any) -> str:
    body = {"member_id": w.members[member], "title": f"Plan {key}", "start_date": start, "end_date": end,
            "point_of_contact": CONTACT, **extra}  # fmt: skip
    plan = await ok(await w.api.post("/v1/plans", json=body, headers=STAFF))
    w.plans[key] = str(plan["id"])
    w.contact_ids.append(str(plan["point_of_contact_id"]))
    return w.plans[key]


async def move_plan(w: World, key: str, *states: str) -> None:
    for to in states:
        await ok(
            await w.api.post(f"/v1/plans/{w.plans[key]}/transitions", json={"to": to}, headers=STAFF), 200
        )


async def add_commitment(w: World, key: str, plan: str, **body: Any) -> str:
    c = await ok(await w.api.post(f"/v1/plans/{w.plans[plan]}/commitments", json=body, headers=STAFF))
    w.commitments[key] = str(c["id"])
    return w.commitments[key]


@pytest.fixture(scope="module")
async def world(module_env: Env) -> AsyncIterator[World]:
    async with running(PLANS, module_env.settings(PlansSettings, "plans")) as rt:
        async with client(rt) as api:
            w = World(api)
            await add_member(w, "jordan", "Jordan", "national", "Middle East and North Africa")
            await add_member(w, "morocco", "Morocco", "national", "Middle East and North Africa")
            await add_member(w, "paris", "Paris", "local", "Europe")
            await add_member(w, "kenya", "Kenya National Assembly", "parliament", "Africa")
            await add_member(w, "mexico", "Mexico", "national", "Americas")
            await add_member(w, "montevideo", "Montevideo", "local", "Americas")
            await add_member(w, "moldova", "moldova", "national", "Europe")
            await ok(await api.post(f"/v1/members/{w.members['mexico']}/status", headers=STAFF,
                                    json={"status": "inactive", "reason": "left the partnership"}), 200)  # fmt: skip

            # Jordan 2023-2025, submitted: its commitments are adopted.
            await add_plan(w, "jordan", "jordan", "2023-01-01", "2025-01-01")
            await move_plan(w, "jordan", "co_creation")
            await add_commitment(
                w, "budget_portal", "jordan",
                title={"en": "Budget transparency portal", "ar": "بوابة شفافية الميزانية"},
                objective={"en": "Publish the budget proposal and the audit reports every year."},
                values={"access_to_information": True, "public_accountability": True},
                policy_areas=["Fiscal Openness"],
            )  # fmt: skip
            await add_commitment(
                w, "contracting", "jordan", title="Open contracting",
                objective="Publish every public tender and contract award.",
                values={"public_accountability": True, "technology_innovation": True},
                policy_areas=["procurement"],
            )  # fmt: skip
            await move_plan(w, "jordan", "submitted")

            # Morocco 2025-2027, co-creation: drafted commitments in French and Spanish.
            await add_plan(w, "morocco", "morocco", "2025-01-01", "2027-01-01")
            await move_plan(w, "morocco", "co_creation")
            await add_commitment(
                w, "transparence", "morocco", original_language="fr",
                title={"fr": "Transparence budgétaire des collectivités territoriales"},
                objective={"fr": "Publier les budgets des communes."},
                values={"access_to_information": True}, policy_areas=["fiscal openness"],
            )  # fmt: skip
            await add_commitment(
                w, "contrataciones", "morocco", original_language="es",
                title={"es": "Datos abiertos sobre contrataciones públicas", "en": "Open procurement data"},
                values={"access_to_information": True},
            )  # fmt: skip
            for i in range(5):
                await add_commitment(w, f"filler{i}", "morocco", title=f"Filler commitment {i}")
            cid = w.commitments["filler4"]
            await ok(await api.post(f"/v1/commitments/{cid}/transitions", headers=STAFF,
                                    json={"to": "withdrawn", "reason": "merged into another"}), 200)  # fmt: skip

            # Paris (local) mid-2024 to mid-2026: its strand is "local".
            await add_plan(w, "paris", "paris", "2024-06-01", "2026-06-01")
            await move_plan(w, "paris", "co_creation")
            await add_commitment(
                w, "participatory", "paris", title={"en": "Participatory budgeting in every district"},
                values={"civic_participation": True}, policy_areas=["participatory budgeting"],
            )  # fmt: skip

            # Kenya's parliament 2026-2028, still a draft: strand open_parliament.
            await add_plan(w, "kenya", "kenya", "2026-01-01", "2028-01-01")
            yield w


def ids(page: dict[str, Any]) -> list[str]:
    return [str(item["id"]) for item in page["items"]]


async def get_page(w: World, path: str, **params: Any) -> dict[str, Any]:
    r = await w.api.get(path, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = r.json()
    assert set(body) == {"items", "next_cursor"}
    return body


async def walk(w: World, path: str, limit: int, **params: Any) -> list[list[str]]:
    """Every page of a listing, following ``next_cursor`` until it is null."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = await get_page(w, path, limit=limit, **({"cursor": cursor} if cursor else {}), **params)
        pages.append(ids(page))
        assert len(pages[-1]) <= limit
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursor does not advance"


# --- members --------------------------------------------------------------------------------------


async def test_members_filters(world: World) -> None:
    m = world.members
    everyone = ids(await get_page(world, "/v1/members"))
    assert set(everyone) == set(m.values())
    assert set(ids(await get_page(world, "/v1/members", kind="local"))) == {m["paris"], m["montevideo"]}
    assert ids(await get_page(world, "/v1/members", kind="parliament")) == [m["kenya"]]
    assert set(ids(await get_page(world, "/v1/members", region="Americas"))) == {m["mexico"], m["montevideo"]}
    assert ids(await get_page(world, "/v1/members", status="inactive")) == [m["mexico"]]
    participating = set(ids(await get_page(world, "/v1/members", status="participating")))
    assert participating == set(m.values()) - {m["mexico"]}
    # q is a case-insensitive prefix of the name, not a substring
    assert set(ids(await get_page(world, "/v1/members", q="mo"))) == {
        m["morocco"],
        m["moldova"],
        m["montevideo"],
    }
    assert set(ids(await get_page(world, "/v1/members", q="MOR"))) == {m["morocco"]}
    assert ids(await get_page(world, "/v1/members", q="occo")) == []
    assert ids(await get_page(world, "/v1/members", q="%")) == []  # no LIKE wildcards
    both = await get_page(world, "/v1/members", kind="local", region="Americas")
    assert ids(both) == [m["montevideo"]]
    inactive = (await get_page(world, "/v1/members", status="inactive"))["items"][0]
    assert inactive["status_reason"] == "left the partnership" and inactive["status_changed_at"]


async def test_members_pagination(world: World) -> None:
    pages = await walk(world, "/v1/members", limit=2)
    flat = [i for p in pages for i in p]
    assert len(pages) == 4 and [len(p) for p in pages] == [2, 2, 2, 1]
    assert flat == ids(await get_page(world, "/v1/members", limit=200))  # same order, no gap
    assert len(set(flat)) == len(flat) == len(world.members)
    filtered = [i for p in await walk(world, "/v1/members", limit=1, region="Europe") for i in p]
    assert set(filtered) == {world.members["paris"], world.members["moldova"]} and len(filtered) == 2


# --- plans ----------------------------------------------------------------------------------------


async def test_plans_filters(world: World) -> None:
    p, m = world.plans, world.members
    assert set(ids(await get_page(world, "/v1/plans"))) == set(p.values())
    assert ids(await get_page(world, "/v1/plans", member_id=m["jordan"])) == [p["jordan"]]
    assert ids(await get_page(world, "/v1/plans", kind="local")) == [p["paris"]]
    assert set(ids(await get_page(world, "/v1/plans", region="Middle East and North Africa"))) == {
        p["jordan"], p["morocco"]}  # fmt: skip
    assert ids(await get_page(world, "/v1/plans", strand="local")) == [p["paris"]]
    assert ids(await get_page(world, "/v1/plans", strand="open_parliament")) == [p["kenya"]]
    assert set(ids(await get_page(world, "/v1/plans", strand="open_government"))) == {
        p["jordan"],
        p["morocco"],
    }
    assert ids(await get_page(world, "/v1/plans", state="submitted")) == [p["jordan"]]
    assert ids(await get_page(world, "/v1/plans", state="draft")) == [p["kenya"]]
    assert ids(await get_page(world, "/v1/plans", state="implementing")) == []
    # year: the plan runs at some time in that year (start year <= year <= end year)
    assert set(ids(await get_page(world, "/v1/plans", year=2024))) == {p["jordan"], p["paris"]}
    assert set(ids(await get_page(world, "/v1/plans", year=2025))) == {p["jordan"], p["morocco"], p["paris"]}
    assert set(ids(await get_page(world, "/v1/plans", year=2027))) == {p["morocco"], p["kenya"]}
    assert ids(await get_page(world, "/v1/plans", year=2022)) == []
    assert ids(await get_page(world, "/v1/plans", year=2026, kind="national")) == [p["morocco"]]
    jordan = (await get_page(world, "/v1/plans", member_id=m["jordan"]))["items"][0]
    assert jordan["commitment_count"] == 2 and jordan["state"] == "submitted"
    assert "point_of_contact_id" not in jordan and "commitments" not in jordan


async def test_plans_pagination(world: World) -> None:
    pages = await walk(world, "/v1/plans", limit=3)
    flat = [i for p in pages for i in p]
    assert [len(p) for p in pages] == [3, 1]
    assert flat == ids(await get_page(world, "/v1/plans"))
    assert flat == [world.plans[k] for k in ("jordan", "morocco", "paris", "kenya")]  # creation order


# --- commitments ----------------------------------------------------------------------------------


async def test_commitments_filters(world: World) -> None:
    c, p, m = world.commitments, world.plans, world.members

    async def listed(**params: Any) -> set[str]:
        return set(ids(await get_page(world, "/v1/commitments", **params)))

    assert await listed() == set(c.values())
    assert await listed(member_id=m["jordan"]) == {c["budget_portal"], c["contracting"]}
    assert await listed(plan_id=p["paris"]) == {c["participatory"]}
    assert await listed(kind="local") == {c["participatory"]}
    assert await listed(kind="parliament") == set()
    assert await listed(region="Europe") == {c["participatory"]}
    assert await listed(strand="local") == {c["participatory"]}
    assert await listed(state="adopted") == {c["budget_portal"], c["contracting"]}
    assert await listed(state="withdrawn") == {c["filler4"]}
    assert await listed(value="civic_participation") == {c["participatory"]}
    assert await listed(value="technology_innovation") == {c["contracting"]}
    assert await listed(value="access_to_information") == {
        c["budget_portal"], c["transparence"], c["contrataciones"]}  # fmt: skip
    assert await listed(policy_area="fiscal openness") == {c["budget_portal"], c["transparence"]}
    assert await listed(policy_area="Fiscal Openness") == {c["budget_portal"], c["transparence"]}
    assert await listed(policy_area="fiscal") == set()  # a whole tag, not a substring
    assert await listed(year=2024) == {c["budget_portal"], c["contracting"], c["participatory"]}
    assert await listed(year=2027) == await listed(plan_id=p["morocco"])
    assert await listed(member_id=m["morocco"], state="drafted", value="access_to_information") == {
        c["transparence"], c["contrataciones"]}  # fmt: skip
    item = (await get_page(world, "/v1/commitments", plan_id=p["jordan"]))["items"][0]
    assert item["title"] == {"en": "Budget transparency portal", "ar": "بوابة شفافية الميزانية"}
    assert item["values"]["public_accountability"] is True and "milestones" not in item


# --- full-text search -----------------------------------------------------------------------------


async def search(world: World, q: str, **params: Any) -> list[str]:
    return ids(await get_page(world, "/v1/commitments", q=q, limit=200, **params))


async def test_search_in_english_with_stemming(world: World) -> None:
    c = world.commitments
    hits = await search(world, "budgets")  # stem "budget": singular in the titles
    assert {c["budget_portal"], c["participatory"]} <= set(hits)
    assert c["contracting"] not in hits
    assert await search(world, "tender") == [c["contracting"]]  # the objective is searched too
    assert await search(world, "tenders awarded") == [c["contracting"]]  # all words, stemmed
    assert await search(world, '"contract award"') == [c["contracting"]]  # a phrase
    assert await search(world, "zebra") == []
    assert c["contracting"] not in await search(world, "contracting -tender")  # web-search syntax


async def test_search_in_french_spanish_and_arabic(world: World) -> None:
    c = world.commitments
    assert c["transparence"] in await search(world, "transparence")
    assert await search(world, "budgétaire") == [c["transparence"]]
    assert await search(world, "collectivité") == [c["transparence"]]  # French stemming
    assert await search(world, "contrataciones") == [c["contrataciones"]]
    assert await search(world, "contratación") == [c["contrataciones"]]  # Spanish stemming
    assert await search(world, "الميزانية") == [c["budget_portal"]]
    assert await search(world, "ميزانية") == [c["budget_portal"]]  # Arabic stemming (no article)


async def test_search_combines_with_filters_and_ranks(world: World) -> None:
    c, p = world.commitments, world.plans
    assert await search(world, "budget", plan_id=p["paris"]) == [c["participatory"]]
    assert await search(world, "budget", state="adopted") == [c["budget_portal"]]
    # the commitment that says "budget" twice (title and objective) ranks above the one saying it once
    hits = await search(world, "budget", region="Middle East and North Africa")
    assert hits[0] == c["budget_portal"]


async def test_search_pagination_by_rank(world: World) -> None:
    c = world.commitments
    expected = await search(world, "budget OR open OR transparence OR filler")
    assert len(expected) >= 8
    pages = await walk(world, "/v1/commitments", limit=3, q="budget OR open OR transparence OR filler")
    flat = [i for page in pages for i in page]
    assert flat == expected and len(set(flat)) == len(flat)
    assert c["filler0"] in flat and c["budget_portal"] in flat


# --- cursors, limits and enums --------------------------------------------------------------------


def forge(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


async def test_bad_cursors_are_422(world: World) -> None:
    members_cursor = (await get_page(world, "/v1/members", limit=1))["next_cursor"]
    commitments_cursor = (await get_page(world, "/v1/commitments", limit=1))["next_cursor"]
    search_cursor = (await get_page(world, "/v1/commitments", q="budget OR filler", limit=1))["next_cursor"]
    assert members_cursor and commitments_cursor and search_cursor
    bad = {
        "/v1/members": ["%%%", "bm90IGpzb24", forge("members", "x"), forge("members", 1, 2),
                        forge("members", "Jordan", "not-a-uuid"), commitments_cursor],
        "/v1/plans": ["!", members_cursor, forge("plans", "2025-01-01", str(uuid4())),
                      forge("plans", "yesterday", str(uuid4())), forge("plans", None, None)],
        "/v1/commitments": ["", "a" * 501, search_cursor, forge("commitments", 3, str(uuid4()))],
    }  # fmt: skip
    for path, cursors in bad.items():
        for cursor in cursors:
            if cursor == "":
                continue
            assert_problem(await world.api.get(path, params={"cursor": cursor}), 422, "query.cursor")
    # a cursor belongs to its ordering: the relevance one is not the creation-order one
    assert_problem(
        await world.api.get("/v1/commitments", params={"cursor": search_cursor}), 422, "query.cursor"
    )
    r = await world.api.get("/v1/commitments", params={"cursor": commitments_cursor, "q": "budget"})
    assert_problem(r, 422, "query.cursor")
    r = await world.api.get(
        "/v1/commitments", params={"cursor": forge("search", "high", str(uuid4())), "q": "x"}
    )
    assert_problem(r, 422, "query.cursor")
    r = await world.api.get(
        "/v1/commitments", params={"cursor": forge("search", True, str(uuid4())), "q": "x"}
    )
    assert_problem(r, 422, "query.cursor")


async def test_bad_limits_years_and_enums_are_422(world: World) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/v1/members", {"limit": 0}, "query.limit"),
        ("/v1/plans", {"limit": 201}, "query.limit"),
        ("/v1/commitments", {"limit": "ten"}, "query.limit"),
        ("/v1/members", {"kind": "galactic"}, "query.kind"),
        ("/v1/members", {"status": "sleeping"}, "query.status"),
        ("/v1/plans", {"kind": "city"}, "query.kind"),
        ("/v1/plans", {"strand": "open_sky"}, "query.strand"),
        ("/v1/plans", {"state": "paused"}, "query.state"),
        ("/v1/plans", {"year": "last"}, "query.year"),
        ("/v1/plans", {"year": 0}, "query.year"),
        ("/v1/plans", {"member_id": "jordan"}, "query.member_id"),
        ("/v1/commitments", {"kind": "galactic"}, "query.kind"),
        ("/v1/commitments", {"strand": "x"}, "query.strand"),
        ("/v1/commitments", {"state": "implementing-ish"}, "query.state"),
        ("/v1/commitments", {"value": "honesty"}, "query.value"),
        ("/v1/commitments", {"plan_id": "42"}, "query.plan_id"),
        ("/v1/commitments", {"year": 99999}, "query.year"),
        ("/v1/commitments", {"q": "x" * 301}, "query.q"),
    ]
    for path, params, field_name in cases:
        assert_problem(await world.api.get(path, params=params), 422, field_name)
    assert len((await get_page(world, "/v1/commitments", limit=1))["items"]) == 1
    assert len((await get_page(world, "/v1/commitments", limit=200))["items"]) >= 10


async def test_blank_query_means_no_search(world: World) -> None:
    assert ids(await get_page(world, "/v1/commitments", q="  ")) == ids(
        await get_page(world, "/v1/commitments")
    )
    assert ids(await get_page(world, "/v1/commitments", q="the")) == []  # only stop words: nothing matches
    for odd in ("!!! && ||", "'", '"unclosed', "a:*", "\\", "-"):  # never a syntax error
        await get_page(world, "/v1/commitments", q=odd)


# --- the plan page and the other records ---------------------------------------------------------


async def test_existing_routes_keep_their_shapes(world: World) -> None:
    pid, cid = world.plans["jordan"], world.commitments["budget_portal"]
    plan = (await world.api.get(f"/v1/plans/{pid}")).json()
    assert plan["id"] == pid and plan["commitment_count"] == 2 and plan["point_of_contact_id"]
    full = (await world.api.get(f"/v1/plans/{pid}/full")).json()
    assert {k: full[k] for k in ("id", "member_id", "title", "state", "commitment_count")} == {
        k: plan[k] for k in ("id", "member_id", "title", "state", "commitment_count")}  # fmt: skip
    assert full["progress"] == plan["progress"] == 0 and "point_of_contact_id" not in full
    assert full["created_at"] == plan["created_at"] and full["submitted_at"] == plan["submitted_at"]
    assert [c["number"] for c in full["commitments"]] == [1, 2]
    assert full["commitments"][0]["milestones"] == []
    listed = (await world.api.get(f"/v1/plans/{pid}/commitments")).json()
    assert listed == full["commitments"]
    one = (await world.api.get(f"/v1/commitments/{cid}")).json()
    assert one == full["commitments"][0]
    assert one["texts"] == {
        "objective": {"en": "Publish the budget proposal and the audit reports every year."}
    }
    assert (await world.api.get(f"/v1/plans/{pid}/documents")).json() == []
    for path in (
        f"/v1/plans/{uuid4()}/full",
        f"/v1/plans/{uuid4()}/commitments",
        f"/v1/commitments/{uuid4()}",
    ):
        r = await world.api.get(path)
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


async def test_plan_page_is_gzipped_for_clients_that_accept_it(world: World) -> None:
    path = f"/v1/plans/{world.plans['jordan']}/full"
    plain = await world.api.get(path, headers={"accept-encoding": "identity"})
    zipped = await world.api.get(path, headers={"accept-encoding": "br;q=1.0, gzip;q=0.8"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip" and zipped.json() == plain.json()
    assert int(zipped.headers["content-length"]) < len(plain.content)
    assert plain.headers["vary"] == zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.headers["etag"] == plain.headers["etag"][:-1] + '+gzip"'  # one tag per encoding
    for tag in (plain.headers["etag"], zipped.headers["etag"]):  # either one revalidates
        for encoding in ("identity", "gzip"):
            r = await world.api.get(path, headers={"if-none-match": tag, "accept-encoding": encoding})
            assert r.status_code == 304, (tag, encoding)
    refused = await world.api.get(path, headers={"accept-encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers and refused.content == plain.content


async def test_no_contact_details_in_any_public_answer(world: World) -> None:
    p, c, m = world.plans, world.commitments, world.members
    paths = ["/v1/members", "/v1/plans", "/v1/commitments", "/v1/commitments?q=budget"]
    for pid in p.values():
        paths += [f"/v1/plans/{pid}", f"/v1/plans/{pid}/full", f"/v1/plans/{pid}/commitments",
                  f"/v1/plans/{pid}/documents", f"/v1/plans?member_id={m['jordan']}"]  # fmt: skip
    paths += [f"/v1/commitments/{cid}" for cid in c.values()]
    paths += [f"/v1/members/{mid}" for mid in m.values()]
    for path in paths:
        r = await world.api.get(path)  # anonymous
        assert r.status_code == 200, (path, r.text)
        for secret in SECRETS:
            assert secret not in r.text, (path, secret)
        assert "email" not in r.text and "phone" not in r.text, path
        if not path.startswith("/v1/plans/") or path.count("/") != 3:  # only the plan record names it
            for contact_id in world.contact_ids:
                assert contact_id not in r.text, (path, "point_of_contact_id")


# --- tests that write (last: the read tests above compare whole listings) -------------------------


async def test_commitments_pagination_is_stable_while_rows_are_added(world: World) -> None:
    everything = ids(await get_page(world, "/v1/commitments", limit=200))
    first = await get_page(world, "/v1/commitments", limit=4)
    assert ids(first) == everything[:4]
    # a commitment added between two pages comes last, once; nothing is skipped or repeated
    plan = await add_plan(world, "late", "paris", "2024-06-01", "2026-06-01")
    await move_plan(world, "late", "co_creation")
    late = await add_commitment(world, "late", "late", title="Added while paging")
    rest: list[str] = []
    cursor = first["next_cursor"]
    while cursor:
        page = await get_page(world, "/v1/commitments", limit=4, cursor=cursor)
        rest += ids(page)
        cursor = page["next_cursor"]
    assert ids(first) + rest == [*everything, late]
    assert ids(await get_page(world, "/v1/commitments", plan_id=plan)) == [late]


async def test_plan_page_follows_every_change_and_answers_304(world: World) -> None:
    w = world
    pid = await add_plan(w, "cache", "moldova", "2025-01-01", "2027-01-01")
    await move_plan(w, "cache", "co_creation")
    cid = await add_commitment(w, "cache", "cache", title="Before")

    first = await w.api.get(f"/v1/plans/{pid}/full")
    etag = first.headers["etag"]
    assert first.json()["commitments"][0]["title"] == {"en": "Before"}
    again = await w.api.get(f"/v1/plans/{pid}/full")
    assert again.headers["etag"] == etag and again.content == first.content
    unchanged = await w.api.get(f"/v1/plans/{pid}/full", headers={"if-none-match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["etag"] == etag

    async def changed_after(step: Any) -> dict[str, Any]:
        nonlocal etag
        await step()
        r = await w.api.get(f"/v1/plans/{pid}/full", headers={"if-none-match": etag})
        assert r.status_code == 200 and r.headers["etag"] != etag
        etag = r.headers["etag"]
        body: dict[str, Any] = r.json()
        return body

    async def patch() -> None:
        await ok(await w.api.patch(f"/v1/commitments/{cid}", json={"title": "After"}, headers=STAFF), 200)

    async def milestone() -> None:
        await ok(await w.api.post(f"/v1/commitments/{cid}/milestones", json={"title": "M1"}, headers=STAFF))

    async def second() -> None:
        await ok(await w.api.post(f"/v1/plans/{pid}/commitments", json={"title": "Second"}, headers=STAFF))

    async def submit() -> None:
        await move_plan(w, "cache", "submitted")

    assert (await changed_after(patch))["commitments"][0]["title"] == {"en": "After"}
    assert (await changed_after(milestone))["commitments"][0]["milestones"][0]["title"] == {"en": "M1"}
    assert len((await changed_after(second))["commitments"]) == 2
    page = await changed_after(submit)
    assert page["state"] == "submitted" and {c["state"] for c in page["commitments"]} == {"adopted"}
    # a weak or listed ETag is understood; a stranger's is not
    assert (
        await w.api.get(f"/v1/plans/{pid}/full", headers={"if-none-match": f'"x", W/{etag}'})
    ).status_code == 304
    assert (await w.api.get(f"/v1/plans/{pid}/full", headers={"if-none-match": '"abc"'})).status_code == 200
