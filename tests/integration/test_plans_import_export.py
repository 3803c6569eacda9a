"""Spreadsheet import, bulk progress and open-data export of the plans service, against the real
Postgres and Kafka: idempotent re-imports, per-row error reports, events in the outbox, no
personal data in the exports, staff-only imports."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from services.plans import exports, imports
from services.plans.service import SPEC as PLANS
from services.plans.settings import PlansSettings
from shared.auth import person_id
from shared.runtime import Runtime
from tests.conftest import Env, client, running, token
from tests.helpers import assert_problem, eventually, ok

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "ogp_commitments_sample.csv"
STAFF = token("staff", sub="support-unit")
#: How the history names the importing staff member: their person id, never the token subject.
IMPORTER = str(person_id("support-unit"))
CSV = {**STAFF, "content-type": "text/csv"}
COUNTRIES = {"Morocco", "France", "Mexico", "Philippines", "Buenos Aires", "Kenya"}
PLAN_KEYS = {"Morocco#1", "Morocco#2", "France#1", "France#2", "Mexico#3", "Mexico#4",
             "Philippines#4", "Buenos Aires#1", "Kenya#3"}  # fmt: skip


@dataclass
class Plans:
    api: httpx.AsyncClient
    rt: Runtime

    async def val(self, sql: str, *args: Any) -> Any:
        return await self.rt.pool.fetchval(sql, *args)

    async def row(self, sql: str, *args: Any) -> dict[str, Any]:
        r = await self.rt.pool.fetchrow(sql, *args)
        assert r is not None, (sql, args)
        return dict(r)

    async def events(self) -> dict[str, int]:
        rows = await self.rt.pool.fetch("SELECT event_type, count(*) AS n FROM outbox GROUP BY event_type")
        return {r["event_type"].split(".")[2]: r["n"] for r in rows}

    async def commitment(self, key: str) -> dict[str, Any]:
        return await self.row("SELECT * FROM commitments WHERE source_key = $1", key)

    async def import_csv(self, body: bytes, path: str = "commitments") -> dict[str, Any]:
        r = await self.api.post(f"/v1/imports/{path}", content=body, headers=CSV)
        assert r.status_code == 200, r.text
        report: dict[str, Any] = r.json()
        return report


@pytest.fixture
async def plans(env: Env) -> AsyncIterator[Plans]:
    async with running(PLANS, env.settings(PlansSettings, "plans")) as rt:
        async with client(rt) as c:
            yield Plans(c, rt)


def line_of(key: str, nth: int = 1) -> int:
    """The line a record of the fixture starts on (every record starts with its identifier)."""
    lines = [i for i, text in enumerate(FIXTURE.read_text(encoding="utf-8").splitlines(), start=1)
             if text.startswith(key + ",")]  # fmt: skip
    return lines[nth - 1]


def fields_of(report: dict[str, Any]) -> dict[str, list[str]]:
    return {f"{e['commitment_id']}@{e['row']}": [x["field"] for x in e["errors"]] for e in report["errors"]}


# --- the commitments spreadsheet ----------------------------------------------------------------


async def test_import_is_idempotent_reports_bad_rows_and_updates_what_changed(plans: Plans) -> None:
    data = FIXTURE.read_bytes()
    first = await plans.import_csv(data)
    assert {k: first[k] for k in ("rows", "created", "updated", "unchanged", "failed")} == {
        "rows": 41, "created": 36, "updated": 0, "unchanged": 0, "failed": 5}  # fmt: skip
    assert (first["members_created"], first["plans_created"]) == (6, 9)
    assert fields_of(first) == {
        f"KE0004@{line_of('KE0004')}": ["Specificity"],
        f"PH0005@{line_of('PH0005')}": ["Commitment Title"],
        f"FR0009@{line_of('FR0009')}": ["Year Of Submission"],
        f"MA0002@{line_of('MA0002', 2)}": ["Commitment Unique Identifier"],
        f"MX0044@{line_of('MX0044')}": ["row"],
    }
    assert [e["row"] for e in first["errors"]] == sorted(e["row"] for e in first["errors"])
    duplicate = next(e for e in first["errors"] if e["commitment_id"] == "MA0002")
    assert str(line_of("MA0002")) in duplicate["errors"][0]["message"]
    assert (
        "Very high"
        in next(e for e in first["errors"] if e["commitment_id"] == "KE0004")["errors"][0]["message"]
    )

    # Members, plans and commitments as the rules in docs/open-data.md say.
    members = {r["source_key"]: dict(r) for r in await plans.rt.pool.fetch("SELECT * FROM members")}
    assert set(members) == COUNTRIES
    assert members["Buenos Aires"]["kind"] == "local" and members["Morocco"]["kind"] == "national"
    assert members["Morocco"]["region"] == "Middle East and North Africa"
    plan_rows = {r["source_key"]: dict(r) for r in await plans.rt.pool.fetch("SELECT * FROM plans")}
    assert set(plan_rows) == PLAN_KEYS
    morocco2 = plan_rows["Morocco#2"]
    assert (str(morocco2["start_date"]), str(morocco2["end_date"])) == ("2021-01-01", "2022-12-31")
    assert (morocco2["action_plan_number"], morocco2["length_years"], morocco2["state"]) == (2, 2, "draft")
    assert plan_rows["Mexico#3"]["action_plan_number"] == 3
    assert plan_rows["Buenos Aires#1"]["strands"] == ["local"]
    contact = await plans.row("SELECT * FROM contacts WHERE id = $1", morocco2["point_of_contact_id"])
    assert (contact["name"], contact["email"], contact["phone"]) == ("OGP import", None, None)

    ma1 = await plans.commitment("MA0001")
    assert ma1["plan_id"] == plan_rows["Morocco#1"]["id"] and ma1["number"] == 1
    assert ma1["original_language"] == "ar" and ma1["title"] == "الحق في الحصول على المعلومات"
    assert ma1["texts"]["short_title"] == {"ar": "الحق في المعلومة"}
    assert ma1["texts"]["objective"]["ar"].startswith("إرساء إطار قانوني")
    assert ma1["lead_agency"] == "وزارة إصلاح الإدارة والوظيفة العمومية"
    assert ma1["policy_areas"] == ["access to information", "legislation"]
    assert (ma1["value_access_to_information"], ma1["value_civic_participation"],
            ma1["value_public_accountability"], ma1["value_technology_innovation"]) == (True, True, False, False)  # fmt: skip
    assert ma1["irm"]["legacy_import"] == {
        "scale_version": "legacy-2014", "specificity": "high", "potential_impact": "transformative",
        "completion": "complete", "did_it_open_government": "major", "star": True,
        "ogp_commitment_number": "1",
        "url": "https://www.opengovpartnership.org/members/morocco/commitments/MA0001/",
    }  # fmt: skip
    ma2 = await plans.commitment("MA0002")
    assert ma2["number"] == 2 and ma2["title"] == "Open budget portal"  # the first of the duplicates
    assert "\nQuarterly reports" in ma2["texts"]["objective"]["en"]
    assert ma2["supporting_government"] == ["Transparency Maroc", "Simsim"]
    assert ma2["policy_areas"] == ["fiscal openness", "open budgets"]
    assert ma2["value_technology_innovation"] and ma2["value_access_to_information"]
    fr2 = await plans.commitment("FR0002")
    assert (
        fr2["original_language"] == "fr"
        and fr2["irm"]["legacy_import"]["did_it_open_government"] == "did_not_change"
    )
    assert (await plans.commitment("FR0001"))["irm"]["legacy_import"]["completion"] == "not_started"

    events = await plans.events()
    assert events == {"member_created": 6, "plan_created": 9, "contact_registered": 9, "commitment_added": 36}
    assert (
        await plans.val(
            "SELECT count(*) FROM commitment_history WHERE action = 'created' AND by = $1", IMPORTER
        )
        == 36
    )

    # Re-imported twice: nothing created, nothing written, the same error report.
    for _ in range(2):
        again = await plans.import_csv(data)
        assert {k: again[k] for k in ("rows", "created", "updated", "unchanged", "failed",
                                      "members_created", "plans_created")} == {
            "rows": 41, "created": 0, "updated": 0, "unchanged": 36, "failed": 5,
            "members_created": 0, "plans_created": 0}  # fmt: skip
        assert again["errors"] == first["errors"]
    assert await plans.events() == events
    assert await plans.val("SELECT count(*) FROM commitments") == 36
    assert await plans.val("SELECT max(version) FROM commitments") == 1

    # A corrected spreadsheet: exactly the changed commitment is updated, with history and event.
    records = list(csv.reader(io.StringIO(FIXTURE.read_text(encoding="utf-8"), newline="")))
    mx31_record = next(r for r in records if r[0] == "MX0031")
    assert mx31_record[7] == "Datos abiertos para el desarrollo sostenible" and mx31_record[17] == "High"
    mx31_record[7] += " (Agenda 2030)"
    mx31_record[17] = "Low"
    out = io.StringIO()
    csv.writer(out).writerows(records)
    changed = out.getvalue()
    mx31 = await plans.commitment("MX0031")
    third = await plans.import_csv(changed.encode())
    assert (third["created"], third["updated"], third["unchanged"], third["failed"]) == (0, 1, 35, 5)
    mx31_after = await plans.commitment("MX0031")
    assert mx31_after["title"] == "Datos abiertos para el desarrollo sostenible (Agenda 2030)"
    assert mx31_after["version"] == 2 and mx31_after["irm"]["legacy_import"]["specificity"] == "low"
    history = await plans.rt.pool.fetch(
        "SELECT by, action, changes, version FROM commitment_history WHERE commitment_id = $1 ORDER BY id",
        mx31["id"],
    )
    assert [h["action"] for h in history] == ["created", "imported"]
    assert history[1]["by"] == IMPORTER and history[1]["version"] == 2
    assert set(history[1]["changes"]) == {"title", "texts", "irm"}
    assert history[1]["changes"]["title"]["to"].endswith("(Agenda 2030)")
    payloads = await plans.rt.pool.fetch(
        "SELECT payload FROM outbox WHERE event_type = 'ogp.plans.commitment_updated.v1'"
    )
    assert len(payloads) == 1
    updated = json.loads(payloads[0]["payload"])
    assert updated["commitment_id"] == str(mx31["id"]) and updated["changed_fields"] == [
        "irm",
        "texts",
        "title",
    ]
    assert updated["commitment"]["title"]["es"].endswith("(Agenda 2030)")
    assert (await plans.events())["commitment_updated"] == 1
    # The relay publishes all of it to Kafka.
    await eventually(lambda: plans.val("SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL"))


async def test_row_errors_found_while_writing_keep_the_other_rows(plans: Plans) -> None:
    """Errors that only the database state reveals (member kind, plan year, OGP value rules, a
    frozen plan) fail their row alone; the batch is replayed row by row."""
    jordan = await plans.api.post("/v1/members", json={"name": "Jordan", "kind": "national"}, headers=STAFF)
    assert jordan.status_code == 201
    head = "Commitment Unique Identifier,Country/Locality,Year Of Submission,Action Plan Number,Commitment Title,OGP Value Access To Information,OGP Value Technology,Member Kind\n"
    body = head + (
        "AT1,Atlantis,2019,1,Open registers,Yes,Yes,\n"
        "AT2,Atlantis,2019,1,Open courts,No,No,local\n"  # Atlantis is national
        "AT3,Atlantis,2020,1,Open parliament,No,No,\n"  # plan 1 was submitted in 2019
        "AT4,Atlantis,2019,1,Smart city,No,Yes,\n"  # technology alone is not an OGP value
        "JO1,Jordan,2018,4,Access to information,Yes,No,\n"  # adopts the member made by hand
        "AT5,Atlantis,2019,1,Open budgets,yes,,national\n"
    )
    report = await plans.import_csv(body.encode())
    assert (report["created"], report["failed"], report["members_created"]) == (4, 2, 1)
    assert fields_of(report) == {"AT2@3": ["Member Kind"], "AT3@4": ["Year Of Submission"]}
    # OGP's history has technology flagged alone: imported without it, and said so.
    assert report["warnings"] == [
        {"row": 5, "commitment_id": "AT4", "warnings": [{
            "field": "OGP Value Technology",
            "message": "technology and innovation counts only with a core value; not set",
        }]}
    ]  # fmt: skip
    assert (await plans.commitment("AT4"))["value_technology_innovation"] is False
    assert await plans.val("SELECT count(*) FROM members WHERE name = 'Jordan'") == 1
    jo1 = await plans.commitment("JO1")
    assert str(jo1["member_id"]) == jordan.json()["id"]
    # Only the good rows left events (and Jordan's MemberCreated is the HTTP request's).
    assert await plans.events() == {"member_created": 2, "plan_created": 2, "contact_registered": 2,
                                    "commitment_added": 4}  # fmt: skip
    at1, at5 = await plans.commitment("AT1"), await plans.commitment("AT5")
    assert (at1["number"], at5["number"]) == (1, 3)  # numbers only for the rows that stayed

    # Once submitted, the plan takes no new commitment from an import, but corrections still apply.
    pid = str(at1["plan_id"])
    for target in ("co_creation", "submitted"):
        r = await plans.api.post(f"/v1/plans/{pid}/transitions", json={"to": target}, headers=STAFF)
        assert r.status_code == 200, r.text
    body2 = (
        head + "AT1,Atlantis,2019,1,Open company registers,Yes,Yes,\nAT6,Atlantis,2019,1,Open land,Yes,,\n"
    )
    report = await plans.import_csv(body2.encode())
    assert (report["updated"], report["failed"], report["unchanged"]) == (1, 1, 0)
    assert report["errors"][0]["errors"][0]["rule"] == "plan.commitments_frozen"
    assert (await plans.commitment("AT1"))["title"] == "Open company registers"
    assert (await plans.commitment("AT1"))["state"] == "adopted"


async def test_malformed_rows_and_bodies(plans: Plans) -> None:
    head = b"Commitment Unique Identifier,Country/Locality,Year Of Submission,Action Plan Number,Commitment Title\r\n"
    body = b"\xef\xbb\xbf" + head + b"U1,Utopia,2019,1,Good row\r\n\r\nU3,Utopia,2019\r\n"
    report = await plans.import_csv(body)
    assert (report["rows"], report["created"], report["failed"]) == (2, 1, 1)
    assert fields_of(report) == {"U3@4": ["row"]}
    # A byte that is not UTF-8 anywhere: the whole file is refused (mixed encodings), naming the line.
    mixed = head + b"U1,Utopia,2019,1,Good row\r\nU2,Utopia,2019,1,Bad \xff byte\r\n"
    problem = assert_problem(await plans.api.post("/v1/imports/commitments", content=mixed, headers=CSV), 422)
    assert problem["errors"] == [{"field": "file", "message": "not UTF-8 at line 3"}]
    # A column the import does not know is kept as source data, never a reason to refuse.
    unknown = (
        head.replace(b"Commitment Title", b"Commitment Title,Favourite Colour")
        + b"U4,Utopia,2019,1,T,blue\r\n"
    )
    report = await plans.import_csv(unknown)
    assert report["unmapped_columns"] == ["Favourite Colour"] and report["created"] == 1
    assert (await plans.commitment("U4"))["source_data"] == {"Favourite Colour": "blue"}
    missing = b"Commitment Unique Identifier,Country/Locality\r\nX,Y\r\n"
    problem = assert_problem(
        await plans.api.post("/v1/imports/commitments", content=missing, headers=CSV), 422
    )
    assert {e["field"] for e in problem["errors"]} == {
        "Year Of Submission",
        "Action Plan Number",
        "Commitment Title",
    }
    as_json = json.dumps({"commitments": [1, 2]}).encode()
    assert_problem(await plans.api.post("/v1/imports/commitments", content=as_json, headers=CSV), 422)
    assert_problem(await plans.api.post("/v1/imports/commitments", content=b"", headers=CSV), 422)
    assert_problem(
        await plans.api.post("/v1/imports/commitments", content=bytes(range(256)) * 4, headers=CSV), 422
    )
    r = await plans.api.post(
        "/v1/imports/commitments", content=head, headers={**STAFF, "content-type": "application/json"}
    )
    assert_problem(r, 415)
    r = await plans.api.post("/v1/imports/commitments", content=head,
                             headers={**STAFF, "content-type": "text/csv; charset=latin-1"})  # fmt: skip
    assert_problem(r, 415)
    # Bodies above the import limit (PLANS_IMPORT_MAX_BYTES, not the general 1 MB) get 413:
    # tests/integration/test_plans_import_jobs.py.
    # Case and spacing of the header do not matter; a header-only file is an empty import.
    relaxed = b"commitment unique identifier, COUNTRY/LOCALITY ,Year  Of Submission,action plan number,Commitment title\n"
    assert (await plans.import_csv(relaxed))["rows"] == 0


async def test_imports_are_for_staff_only(plans: Plans) -> None:
    body = FIXTURE.read_bytes()
    for path in ("commitments", "milestone-progress"):
        url = f"/v1/imports/{path}"
        r = await plans.api.post(url, content=body, headers={"content-type": "text/csv"})
        assert_problem(r, 401)
        for role in ("participant", "government", "irm"):
            r = await plans.api.post(url, content=body, headers={**token(role), "content-type": "text/csv"})
            assert_problem(r, 403)
    assert await plans.val("SELECT count(*) FROM commitments") == 0


async def test_command_line_imports_into_the_database(
    plans: Plans, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn = plans.rt.settings.database_url
    assert await imports.run_cli([str(FIXTURE), "--dsn", dsn, "--by", "operator"]) == 1  # some rows failed
    report = json.loads(capsys.readouterr().out)
    assert (report["created"], report["failed"]) == (36, 5)
    assert await imports.run_cli([str(FIXTURE), "--dsn", dsn]) == 1
    assert json.loads(capsys.readouterr().out)["unchanged"] == 36
    assert await plans.val("SELECT count(DISTINCT by) FROM commitment_history") == 1
    assert (await plans.events())["commitment_added"] == 36
    assert await imports.run_cli([str(FIXTURE), "--dsn", dsn, "--kind", "milestone-progress"]) == 2
    assert "status" in capsys.readouterr().err


# --- bulk milestone progress ----------------------------------------------------------------------


async def test_bulk_milestone_progress(plans: Plans) -> None:
    await plans.import_csv(FIXTURE.read_bytes())
    ke1, ke2, ma1 = [await plans.commitment(k) for k in ("KE0001", "KE0002", "MA0001")]

    async def milestone(commitment: dict[str, Any], title: str) -> str:
        r = await plans.api.post(f"/v1/commitments/{commitment['id']}/milestones",
                                 json={"title": title, "end_date": "2019-12-31"}, headers=STAFF)  # fmt: skip
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    m1 = await milestone(ke1, "Draft the regulation")
    m2 = await milestone(ke1, "Launch the register")
    await milestone(ke2, "Publish the portal")
    draft_plan_milestone = await milestone(ma1, "Adopt the law")
    for target in ("co_creation", "submitted", "implementing"):
        r = await plans.api.post(
            f"/v1/plans/{ke1['plan_id']}/transitions", json={"to": target}, headers=STAFF
        )
        assert r.status_code == 200, r.text

    rows = [
        [
            "milestone_id",
            "commitment_source_key",
            "milestone_number",
            "status",
            "progress",
            "note",
            "evidence_url",
            "end_date",
        ],
        [m1, "", "", "in_progress", "40%", "Consultation held", "https://example.org/minutes.pdf", ""],
        ["", "KE0001", "2", "Completed", "", "", "https://example.org/a https://example.org/b", ""],
        ["", "KE0002", "1", "delayed", "10", "Procurement late", "", "2020-06-30"],
        [str(uuid4()), "", "", "in_progress", "10", "", "", ""],  # unknown milestone
        ["", "KE0001", "2", "in_progress", "50", "", "", ""],  # completed cannot go back
        [m1, "", "", "paused", "10", "", "", ""],  # not a status
        [m1, "", "", "in_progress", "150", "", "", ""],  # not a percentage
        [m1, "", "", "in_progress", "100", "", "", ""],  # 100% means completed
        [draft_plan_milestone, "", "", "in_progress", "10", "", "", ""],  # plan still a draft
        [m1, "", "", "in_progress", "50", "", "ftp://example.org/x", ""],
        ["", "KE0009", "", "in_progress", "50", "", "", ""],  # the number is missing
    ]
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    body = buf.getvalue() + f"{m1},,,in_progress,50,,,,too many\n"
    report = await plans.import_csv(body.encode(), "milestone-progress")
    assert (report["rows"], report["updated"], report["failed"]) == (12, 3, 9)
    errors = {
        e["row"]: (e["milestone_id"], [(x["field"], x.get("rule")) for x in e["errors"]])
        for e in report["errors"]
    }
    assert errors == {
        5: (rows[4][0], [("milestone_id", None)]),
        6: ("KE0001#2", [("status", "milestone.transition_not_allowed")]),
        7: (m1, [("status", None)]),
        8: (m1, [("progress", None)]),
        9: (m1, [("progress", "milestone.progress_complete")]),
        10: (draft_plan_milestone, [("status", "plan.progress_not_open")]),
        11: (m1, [("evidence_url", None)]),
        12: ("KE0009#", [("milestone_number", None)]),
        13: (m1, [("row", None)]),
    }
    ms = {str(r["id"]): dict(r) for r in await plans.rt.pool.fetch("SELECT * FROM milestones")}
    assert (ms[m1]["status"], ms[m1]["progress"]) == ("in_progress", 40)
    assert (ms[m2]["status"], ms[m2]["progress"]) == ("completed", 100)
    delayed = next(m for m in ms.values() if m["commitment_id"] == ke2["id"])
    assert (delayed["status"], str(delayed["end_date"])) == ("delayed", "2020-06-30")
    assert float((await plans.commitment("KE0001"))["progress"]) == 70.0
    updates = await plans.rt.pool.fetch("SELECT by, note, evidence FROM milestone_updates ORDER BY id")
    assert len(updates) == 3 and {u["by"] for u in updates} == {IMPORTER}
    assert updates[0]["evidence"] == [{"url": "https://example.org/minutes.pdf", "title": None}]
    assert len(updates[1]["evidence"]) == 2
    events = await plans.events()
    assert (
        events["milestone_progress_updated"],
        events["milestone_completed"],
        events["milestone_delayed"],
    ) == (3, 1, 1)

    no_key = b"status,progress\nin_progress,10\n"
    r = await plans.api.post("/v1/imports/milestone-progress", content=no_key, headers=CSV)
    assert assert_problem(r, 422)["errors"][0]["field"] == "milestone_id"


# --- open-data export -----------------------------------------------------------------------------


def documented_columns() -> dict[str, list[str]]:
    """The column tables of docs/open-data.md, by dataset."""
    doc = (REPO / "docs" / "open-data.md").read_text(encoding="utf-8")
    out: dict[str, list[str]] = {}
    current = None
    for line in doc.splitlines():
        heading = re.match(r"^### `(\w+)\.(csv|json)`", line)
        if heading:
            current = heading.group(1)
            out[current] = []
        elif line.startswith("## "):
            current = None
        elif current and (cell := re.match(r"^\| `(\w+)` \|", line)):
            out[current].append(cell.group(1))
    return out


def test_every_exported_column_is_documented() -> None:
    documented = documented_columns()
    assert set(documented) == set(exports.DATASETS)
    for name, dataset in exports.DATASETS.items():
        assert documented[name] == [c.name for c in dataset.columns], name


async def test_open_data_export_is_complete_and_has_no_personal_data(plans: Plans) -> None:
    mid = ok(await plans.api.post("/v1/members", json={"name": "Jordan", "kind": "national", "country_code": "JO"},
                                headers=STAFF))["id"]  # fmt: skip
    r = await plans.api.post("/v1/plans", headers=STAFF, json={
        "member_id": mid, "title": "Fifth national action plan", "start_date": "2025-01-01",
        "end_date": "2027-01-01",
        "point_of_contact": {"name": "Lina Haddad", "email": "lina@example.org", "phone": "+96265000000",
                             "language": "ar"}})  # fmt: skip
    assert r.status_code == 201, r.text
    await plans.import_csv(FIXTURE.read_bytes())
    ma1 = await plans.commitment("MA0001")
    r = await plans.api.post(f"/v1/commitments/{ma1['id']}/milestones", headers=STAFF,
                             json={"title": {"ar": "اعتماد القانون", "en": "Adopt the law"}, "weight": 2})  # fmt: skip
    assert r.status_code == 201, r.text

    for name, dataset in exports.DATASETS.items():
        csv_r = await plans.api.get(f"/v1/export/{name}.csv")  # anonymous
        assert csv_r.status_code == 200, csv_r.text
        assert csv_r.headers["content-type"].startswith("text/csv")
        json_r = await plans.api.get(f"/v1/export/{name}.json")
        assert json_r.status_code == 200 and json_r.headers["content-type"].startswith("application/json")
        for text in (csv_r.text, json_r.text):
            assert "@" not in text and "lina" not in text.lower() and "+9626" not in text
            assert "OGP import" not in text and "point_of_contact" not in text
        table = list(csv.DictReader(io.StringIO(csv_r.text)))
        objects = json_r.json()
        assert list(table[0]) == [c.name for c in dataset.columns]
        assert len(table) == len(objects) and all(list(o) == list(table[0]) for o in objects)

    commitments = {
        r["source_key"]: r
        for r in csv.DictReader(io.StringIO((await plans.api.get("/v1/export/commitments.csv")).text))
    }
    assert len(commitments) == 36 and "MA0002" in commitments and "PH0005" not in commitments
    row = commitments["MA0001"]
    assert (
        row["title_ar"] == "الحق في الحصول على المعلومات"
        and row["title_en"] == ""
        and row["original_language"] == "ar"
    )
    assert row["member_name"] == "Morocco" and row["action_plan_number"] == "1"
    assert row["policy_areas"] == "access to information; legislation"
    assert (row["value_access_to_information"], row["value_technology_innovation"]) == ("true", "false")
    assert (row["legacy_specificity"], row["legacy_star"], row["ogp_commitment_number"]) == (
        "high",
        "true",
        "1",
    )
    assert commitments["MA0002"]["supporting_government"] == "Transparency Maroc; Simsim"
    assert commitments["FR0001"]["title_fr"].startswith("Permettre à chacun")
    as_json = {c["source_key"]: c for c in (await plans.api.get("/v1/export/commitments.json")).json()}
    assert as_json["MA0002"]["supporting_government"] == ["Transparency Maroc", "Simsim"]
    assert as_json["MA0001"]["value_access_to_information"] is True and as_json["MA0001"]["progress"] == 0
    assert as_json["MA0001"]["legacy_star"] is True and as_json["MA0001"]["budget_amount"] is None

    members = {m["name"]: m for m in (await plans.api.get("/v1/export/members.json")).json()}
    assert set(members) == COUNTRIES | {"Jordan"} and members["Jordan"]["country_code"] == "JO"
    plan_rows = (await plans.api.get("/v1/export/plans.json")).json()
    assert {p["source_key"] for p in plan_rows} == PLAN_KEYS | {None}
    assert next(p for p in plan_rows if p["source_key"] == "Morocco#1")["commitment_count"] == 5
    milestones = (await plans.api.get("/v1/export/milestones.json")).json()
    assert len(milestones) == 1
    assert (
        milestones[0]["title_ar"] == "اعتماد القانون" and milestones[0]["commitment_source_key"] == "MA0001"
    )
    assert milestones[0]["weight"] == 2.0
    r = await plans.api.get("/v1/export/commitments.xml")
    assert r.status_code == 404
