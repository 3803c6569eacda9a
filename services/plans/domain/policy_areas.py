"""OGP's policy areas, in its groups, as its commitments database flags them (one 0/1 column per
area, the group's own column flagging the group as a whole).

A commitment stores the names of its areas, in lower case (``policy_areas``), so a search for an
area finds commitments whether the area was typed by hand or flagged in OGP's database. The
groups are kept here, not on each commitment: they are OGP's taxonomy, which it revises, and a
reader groups a commitment's areas with :func:`group_of`.
"""

from __future__ import annotations

from functools import cache

#: Group → its areas, in OGP's column order. ``Other`` holds the areas OGP flags without a group.
GROUPS: dict[str, tuple[str, ...]] = {
    "Anti-Corruption and Integrity": (
        "Anti-corruption Institutions", "Anti-Corruption Strategies", "Asset Disclosure", "Audits",
        "Beneficial Ownership", "Conflicts Of Interest", "Elections", "Political Finance", "Lobbying",
        "Open Contracting", "Public Procurement", "Right To Information", "Whistleblower Protections",
    ),
    "Civic Space and Enabling Environment": (
        "Freedom of Assembly", "Freedom of Association", "Freedom of Expression",
    ),
    "Democratizing Decision-Making": (
        "Digital Participation", "Mainstreaming Participation", "Regulatory Governance",
        "Social Accountability",
    ),
    "Digital Governance": (
        "Automated Decision-making", "Data Stewardship and Privacy", "Digital Inclusion",
        "Disinformation/Misinformation", "Online Civic Space",
    ),
    "Environment & Climate": (
        "Climate Finance", "Climate Mitigation and Adaptation", "Environmental Regulation",
        "International Environmental Agreements",
    ),
    "Fiscal Openness": (
        "Publication Of Budget/Fiscal Information", "Public Participation In Budget/Fiscal Policy",
        "Oversight Of Budget/Fiscal Policies", "Stimulus and Economic Recovery", "Tax", "Debt",
    ),
    "Inclusion": (
        "Gender", "Gender-Based Violence", "Economic Inclusion", "LGBTQIA+", "People with Disabilities",
        "Youth",
    ),
    "Justice": ("Access to Justice", "Open Justice", "Policing & Corrections", "Judiciary"),
    "Open Parliaments": (),
    "Public Service Delivery": (
        "Citizenship & Immigration", "Education", "Health & Nutrition", "Infrastructure & Transport",
        "Water & Sanitation",
    ),
    "Other": (
        "Capacity Building", "Digital Transformation", "Legislation", "Regulation", "Legislative Oversight",
        "Open Data", "Public Participation", "Aid", "Energy", "Extractive Industries",
        "Land and Spatial Planning", "Media & Telecommunications", "Science & Technology",
        "Security & Public Safety", "Labor", "Private Sector", "Subnational", "Human Rights",
        "Open Parliament Plan", "Sustainable Development Goals", "Open Data (Water/Sanitation)",
        "Open Data (Health)", "Open Data (Education)", "Participation in Lawmaking", "Access to information",
        "Money in Politics",
    ),
}  # fmt: skip

#: Every flag column of OGP's database, group headings included, in its order (the export's).
FLAGS: tuple[str, ...] = tuple(
    name for group, areas in GROUPS.items() for name in ((group, *areas) if group != "Other" else areas)
)


def area_name(flag: str) -> str:
    """The stored name of a flagged area or group (lower case, as every policy area is stored)."""
    return flag.lower()


@cache
def _groups_by_area() -> dict[str, str]:
    out: dict[str, str] = {}
    for group, areas in GROUPS.items():
        if group != "Other":
            out[area_name(group)] = group
        for area in areas:
            out.setdefault(area_name(area), group)
    return out


def group_of(area: str) -> str | None:
    """The group of a stored area; None for an area typed by hand that OGP does not list."""
    return _groups_by_area().get(area.lower())
