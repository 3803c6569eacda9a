"""OGP's commitments database as OGP publishes it (171 columns, ``tests/fixtures/ogp_export_171.csv``,
rows made up for the test under the real header, with the real codes, wordings, date forms and
text lengths), through the HTTP API against the real Postgres and Kafka: nothing refused for a
column the import does not know, every unmapped cell kept and shown, codes read as "not
assessed" with their reason, stars compared with OGP's own, re-imports changing nothing or only
what changed, and the export in OGP's layout read back to the same commitments."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.plans.service import SPEC as PLANS
from services.plans.settings import PlansSettings
from tests.conftest import Env, client, running, token
from tests.integration.test_plans_import_export import CSV, Plans

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ogp_export_171.csv"
HEADER = next(csv.reader(io.StringIO(FIXTURE.read_text(encoding="utf-8"))))
#: What the round trip compares: every column an import writes.
COMPARED = (
    "source_key, title, texts, original_language, start_date, end_date, lead_agency, supporting_government, "
    "value_access_to_information, value_civic_participation, value_public_accountability, "
    "value_technology_innovation, policy_areas, irm, source_data"
)


@pytest.fixture
async def plans(env: Env) -> AsyncIterator[Plans]:
    async with running(PLANS, env.settings(PlansSettings, "plans")) as rt:
        async with client(rt) as c:
            yield Plans(c, rt)


async def _commitments(p: Plans) -> dict[str, dict[str, Any]]:
    rows = await p.rt.pool.fetch(f"SELECT {COMPARED} FROM commitments ORDER BY source_key")
    return {r["source_key"]: dict(r) for r in rows}


async def test_the_whole_export_is_imported_and_nothing_of_it_is_lost(plans: Plans) -> None:
    assert len(HEADER) == 171
    report = await plans.import_csv(FIXTURE.read_bytes())
    counts = {k: report[k] for k in ("rows", "created", "failed", "members_created", "plans_created")}
    assert counts == {"rows": 7, "created": 5, "failed": 2, "members_created": 3, "plans_created": 3}
    assert [(e["commitment_id"], e["errors"]) for e in report["errors"]] == [
        ("AL0001", [{"field": "Commitment Unique Identifier", "message": "the same identifier is on row 2"}]),
        (
            "AL0004",
            [{"field": "Commitment Title", "message": "2,500 characters, longer than the 2,000 allowed"}],
        ),
    ]
    # Every column the import does not map is listed, and kept.
    assert len(report["unmapped_columns"]) == 42 and "CHECKSUM" in report["unmapped_columns"]
    assert report["dropped_columns"] == []
    assert report["warnings"] == [
        {"row": 3, "commitment_id": "AL0002", "warnings": [
            {"field": "End Date", "message": "'Ongoing' is not a date this import can read; kept as written"}]},
    ]  # fmt: skip
    # OGP's star columns beside the versioned rule: the one made-up disagreement is named.
    assert report["stars"]["compared"] == 6 and report["stars"]["agreeing"] == 4
    assert {
        (d["commitment_id"], d["column"], d["ogp"], d["rule"]) for d in report["stars"]["disagreements"]
    } == {
        ("AL0003", "Starred (Current Formula) Progress Report", True, False),
        ("AL0003", "Starred (Current Formula) End of Term", True, False),
    }

    al1, al2 = await plans.commitment("AL0001"), await plans.commitment("AL0002")
    legacy = al1["irm"]["legacy_import"]
    assert (legacy["specificity"], legacy["completion"], legacy["completion_end_of_term"]) == (
        "high", "complete", "complete",
    )  # fmt: skip
    assert legacy["not_assessed"]["did_it_open_government_public_accountability"] == "not_applicable"
    assert legacy["not_assessed"]["potential_for_results"] == "no_data"
    assert legacy["star"] is True and legacy["ogp_starred"]["starred_2015_only"] is True
    assert legacy["report_year_progress_report"] == 2014 and legacy["ogp_action_plan_id"] == "AP_ALB01"
    assert set(al1["policy_areas"]) == {
        "access to information", "anti-corruption and integrity", "right to information", "beneficial ownership",
    }  # fmt: skip
    assert str(al1["start_date"]) == "2012-07-01" and str(al1["end_date"]) == "2014-06-30"
    assert al1["source_data"]["CHECKSUM"] == "17" and al1["source_data"]["_Specificity"] == "4"
    # Real lengths fit; "NR" is "not reviewed"; a date that cannot be read is kept as written.
    assert len(al2["texts"]["objective"]["en"]) > 27_000 and len(al2["lead_agency"]) > 740
    assert al2["irm"]["legacy_import"]["not_assessed"]["specificity"] == "not_reviewed"
    assert al2["end_date"] is None and al2["source_data"]["End Date"] == "Ongoing"
    assert {"open parliaments", "legislation"} <= set(al2["policy_areas"])

    ar = (await plans.commitment("AR0030"))["irm"]["legacy_import"]
    assert ar["current"] == {
        "scale_version": "irm-2021", "verifiable": True, "potential_for_results": "substantial",
        "early_results": "no_notable",
    }  # fmt: skip
    assert ar["not_assessed"]["did_it_open_government"] == "no_early_results_yet"
    scot = (await plans.commitment("GBSC0001"))["irm"]["legacy_import"]
    assert scot["did_it_open_government"] == "worsened"
    assert scot["not_assessed"]["completion"] == "withdrawn"

    # Members and plans: ISO codes, kinds, OGP's plan ids and historic lengths.
    members = {
        r["name"]: dict(r) for r in await plans.rt.pool.fetch("SELECT name, kind, country_code FROM members")
    }
    assert members["Albania"]["country_code"] == "AL" and members["Argentina"]["country_code"] == "AR"
    assert members["Scotland, United Kingdom"]["kind"] == "local"
    lengths = {r["ogp_id"] or r["source_key"]: r["length_years"]
               for r in await plans.rt.pool.fetch("SELECT ogp_id, source_key, length_years FROM plans")}  # fmt: skip
    assert lengths == {"AP_ALB01": 2, "AP_ARG03": 3, "Scotland, United Kingdom#1": 1}

    # The public record shows the source data.
    r = await plans.api.get(f"/v1/commitments/{al1['id']}")
    assert r.status_code == 200 and r.json()["source_data"]["CHECKSUM"] == "17"

    # The same file again: nothing changes.
    again = await plans.import_csv(FIXTURE.read_bytes())
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 5)


async def test_a_newer_export_changes_only_what_changed_in_the_history(plans: Plans) -> None:
    await plans.import_csv(FIXTURE.read_bytes())
    newer = FIXTURE.read_text(encoding="utf-8").replace(",17,", ",18,", 1)  # AL0001's CHECKSUM
    assert newer != FIXTURE.read_text(encoding="utf-8")
    report = await plans.import_csv(newer.encode())
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 1, 4)
    al1 = await plans.commitment("AL0001")
    history = await plans.rt.pool.fetch(
        "SELECT action, changes FROM commitment_history WHERE commitment_id = $1 ORDER BY version", al1["id"]
    )
    assert [h["action"] for h in history] == ["created", "imported"]
    assert history[-1]["changes"] == {"source_data": {
        "from": {**al1["source_data"], "CHECKSUM": "17"}, "to": al1["source_data"]}}  # fmt: skip


async def test_the_export_in_ogps_layout_imports_back_to_the_same_commitments(plans: Plans, env: Env) -> None:
    await plans.import_csv(FIXTURE.read_bytes())
    r = await plans.api.get("/v1/export/commitments.csv", params={"layout": "ogp"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    exported = list(csv.reader(io.StringIO(r.text)))
    assert exported[0] == HEADER  # OGP's columns, in OGP's order
    assert len(exported) == 6
    # Into the same database: nothing changes.
    back = await plans.import_csv(r.content)
    assert (back["created"], back["updated"], back["unchanged"], back["failed"]) == (0, 0, 5, 0)
    # Into another one: the same commitments.
    async with running(PLANS, env.settings(PlansSettings, "plans_round_trip")) as rt2, client(rt2) as c2:
        other = Plans(c2, rt2)
        report = await other.import_csv(r.content)
        assert (report["created"], report["failed"]) == (5, 0)
        assert await _commitments(other) == await _commitments(plans)
    # Staff only writes; the export itself is public.
    assert (await plans.api.post("/v1/imports/commitments", content=r.content,
                                 headers={**token("participant"), "content-type": "text/csv"})).status_code == 403  # fmt: skip
    assert CSV["content-type"] == "text/csv"
