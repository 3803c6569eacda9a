"""Column lists of the plans tables, shared by the repositories and the read side."""

from __future__ import annotations

PLAN_COLUMNS = """p.id, p.member_id, p.title, p.start_date, p.end_date, p.state,
    p.point_of_contact_id, p.created_at, p.submitted_at, p.updated_at, p.length_years, p.strands,
    p.action_plan_number, p.implementation_started_at, p.refreshed_at, p.ended_at, p.closed_at,
    (SELECT count(*) FROM commitments c
      WHERE c.plan_id = p.id AND c.state <> 'withdrawn') AS commitment_count,
    (SELECT coalesce(round(avg(c.progress), 1), 0) FROM commitments c
      WHERE c.plan_id = p.id AND c.state <> 'withdrawn') AS progress"""

MEMBER_COLUMNS = "id, name, kind, country_code, region, status, status_reason, status_changed_at, created_at"

COMMITMENT_COLUMNS = """c.id, c.plan_id, c.member_id, c.number, c.title, c.texts, c.original_language,
    c.state, c.start_date, c.end_date, c.lead_agency, c.responsible_person,
    c.supporting_government, c.supporting_other, c.value_access_to_information,
    c.value_civic_participation, c.value_public_accountability, c.value_technology_innovation,
    c.policy_areas, c.budget_amount, c.budget_currency, c.sdg_targets, c.other_plan_links,
    c.progress, c.self_assessment, c.irm, c.version, c.created_at, c.updated_at, c.source_key,
    c.source_data"""

MILESTONE_COLUMNS = """m.id, m.commitment_id, m.plan_id, m.number, m.texts, m.start_date, m.end_date,
    m.responsible, m.status, m.weight, m.progress, m.completed_at, m.created_at, m.updated_at"""
