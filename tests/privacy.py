"""The privacy audit: find e-mail addresses and phone numbers wherever they must not be.

Personal data may travel only on the private, access-controlled contacts topics; everything else
a test can read (every service log line at any level, every record of every public topic and of
the dead-letter topics: key, value and each header) must hold none. Looking for the few values a
test typed in would miss the ones it did not think of (a phone in a local format, an address in a
header), so this scanner looks for anything that *looks like* an e-mail address or a phone number.

Why it looks the way it does:

* **E-mail**: ``local@domain.tld``. The services' own sender addresses are not personal data and
  are allowed by name (:data:`SERVICE_ADDRESSES`), nothing else is.
* **Phones**: E.164 (``+21612345678``, also with spaces or dashes between groups) and the common
  local formats (``06 12 34 56 78``, ``(415) 555-0123``, ``0712-345678``), each confirmed by
  libphonenumber as a valid number somewhere, so a run of digits that no country uses is not
  reported.
* **No false alarms on what logs are full of**: UUIDs, trace and span ids, ISO dates and times
  with their ``+01:00`` offsets, year ranges, IPv4 addresses and plain decimals are removed first;
  a bare run of digits without ``+``, separator or trunk ``0`` is not taken for a phone (it is a
  count, an offset or a port far more often than a number someone typed).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.events import topics

#: Addresses of the platform itself (the mail sender and Message-IDs under its own domain, the SMS
#: sender of the dev gateway), which are configuration, not anybody's personal data. An entry
#: starting with ``@`` allows a whole domain.
SERVICE_ADDRESSES = frozenset({"@sharaka.invalid", "+15005550006"})

#: Where personal data may travel: the private, compacted, access-controlled contacts topics.
PRIVATE_TOPICS = frozenset({topics.PLANS_CONTACTS, topics.CONSULTATION_CONTACTS})

#: Regions whose local formats are tried for a number written without ``+`` (the OGP members the
#: tests and examples use, and the usual suspects of a log).
LOCAL_REGIONS = ("TN", "FR", "US", "GB", "KE", "MA", "DE", "ES", "IN", "BR")

_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_NOISE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # UUIDs
    r"|\b[0-9a-fA-F]{16,}\b"  # trace/span ids, digests
    r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"  # dates, times
    r"|\b\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:[+-]\d{2}:?\d{2})?"  # times with offsets
    r"|(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])"  # IPv4
    r"|(?<!\d)(?:19|20)\d{2} ?[-/\u2013] ?(?:19|20)?\d{2}(?!\d)"  # year ranges (a plan's 2026-2028)
    r"|(?<![\d.])\d+\.\d+(?:[eE][+-]?\d+)?(?![\d.])"  # decimals (durations, metrics)
)
_PHONE = re.compile(r"(?<![\w+.])(\+?\(?\d[\d ().-]{5,22}\d)(?![\w])")
_SEPARATORS = re.compile(r"[ ().-]")


@dataclass(frozen=True, slots=True)
class Finding:
    """One e-mail address or phone number found somewhere it must not be."""

    where: str
    kind: str  # "email" or "phone"
    value: str
    context: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind} {self.value!r} in …{self.context}…"


def _is_phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if not 7 <= len(digits) <= 15:
        return False
    if candidate.startswith("+"):
        try:
            # Possible, not necessarily valid: a number someone typed is theirs even when no
            # carrier has issued it yet (as the tests' own numbers often are).
            return phonenumbers.is_possible_number(phonenumbers.parse(candidate, None))
        except phonenumbers.NumberParseException:
            return False
    separated = bool(_SEPARATORS.search(candidate))
    if not separated and not candidate.startswith("0"):
        return False  # a bare count, offset or id
    if candidate.count(".") == 1 and not re.search(r"[ ()-]", candidate):
        return False  # a decimal
    for region in LOCAL_REGIONS:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def find_personal(text: str, allowed: Iterable[str] = SERVICE_ADDRESSES) -> list[tuple[str, str]]:
    """Every (kind, value) in ``text`` that looks like an e-mail address or a phone number."""
    allow = {a.lower() for a in allowed}
    domains = tuple(a for a in allow if a.startswith("@"))
    found: list[tuple[str, str]] = []
    for m in _EMAIL.finditer(text):
        address = m.group(0).lower()
        if address not in allow and not address.endswith(domains):
            found.append(("email", m.group(0)))
    cleaned = _EMAIL.sub(" ", text)
    cleaned = _NOISE.sub(lambda m: " " * len(m.group(0)), cleaned)
    for m in _PHONE.finditer(cleaned):
        candidate = m.group(1).strip(" .-")
        if candidate.count("(") != candidate.count(")"):
            candidate = candidate.strip("()")
        if _is_phone(candidate) and re.sub(r"[ ().-]", "", candidate) not in allow:
            found.append(("phone", candidate))
    return found


def scan_text(where: str, text: str, allowed: Iterable[str] = SERVICE_ADDRESSES) -> list[Finding]:
    findings = []
    for kind, value in find_personal(text, allowed):
        at = text.find(value)
        context = text[max(0, at - 60) : at + len(value) + 20].replace("\n", " ") if at >= 0 else ""
        findings.append(Finding(where, kind, value, context))
    return findings


def scan_logs(paths: Sequence[Path], allowed: Iterable[str] = SERVICE_ADDRESSES) -> list[Finding]:
    """Every line of every log, whatever its level or shape (JSON or not: a traceback counts)."""
    findings: list[Finding] = []
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        for number, line in enumerate(text.splitlines(), 1):
            findings += scan_text(f"{path.name}:{number}", line, allowed)
    return findings


@dataclass(frozen=True, slots=True)
class TopicScan:
    """What one pass over a run's topics found: records read per topic, and findings."""

    records: dict[str, int]
    findings: list[Finding]

    def public(self, prefix: str = "") -> list[Finding]:
        """Findings outside the private contacts topics: the ones that must not exist."""
        private = {prefix + t for t in PRIVATE_TOPICS}
        return [f for f in self.findings if f.where.split("[", 1)[0] not in private]

    def private(self, prefix: str = "") -> list[Finding]:
        private = {prefix + t for t in PRIVATE_TOPICS}
        return [f for f in self.findings if f.where.split("[", 1)[0] in private]


async def topics_with_prefix(bootstrap: str, prefix: str) -> list[str]:
    """Every topic of one test run (all share its prefix): public, private and dead-letter."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = await admin.list_topics()
    finally:
        await admin.close()
    return sorted(n for n in names if n.startswith(prefix))


async def partitions_of(bootstrap: str, names: Sequence[str]) -> list[TopicPartition]:
    """The partitions of ``names`` as the broker knows them now (a consumer's own metadata only
    covers what it subscribed to; a missing topic has none)."""
    if not names:
        return []
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(names))
    finally:
        await admin.close()
    return sorted(
        (TopicPartition(t["topic"], p["partition"]) for t in described if not t.get("error_code")
         for p in t["partitions"]),
        key=lambda tp: (tp.topic, tp.partition),
    )  # fmt: skip


async def scan_topics(
    bootstrap: str,
    names: Sequence[str],
    allowed: Iterable[str] = SERVICE_ADDRESSES,
    *,
    timeout: float = 60.0,
) -> TopicScan:
    """Read every record of ``names`` up to their current end; scan key, value and headers."""
    allowed = tuple(allowed)
    counts: dict[str, int] = {}
    findings: list[Finding] = []
    every = await partitions_of(bootstrap, names)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        for name in names:
            tps = [tp for tp in every if tp.topic == name]
            counts[name] = 0
            if not tps:
                continue
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            pending = {tp for tp in tps if ends[tp] > 0}
            deadline = time.monotonic() + timeout
            while pending:
                batch = await consumer.getmany(*pending, timeout_ms=500)
                for records in batch.values():
                    for r in records:
                        counts[name] += 1
                        where = f"{name}[{r.partition}@{r.offset}]"
                        if r.key is not None:
                            findings += scan_text(f"{where} key", r.key.decode("utf-8", "replace"), allowed)
                        if r.value is not None:
                            findings += scan_text(
                                f"{where} value", r.value.decode("utf-8", "replace"), allowed
                            )
                        for header, raw in r.headers or ():
                            text = bytes(raw).decode("utf-8", "replace") if raw is not None else ""
                            findings += scan_text(f"{where} header {header}", f"{header}: {text}", allowed)
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"could not read {sorted(map(str, pending))} to their end")
    finally:
        await consumer.stop()
    return TopicScan(counts, findings)
