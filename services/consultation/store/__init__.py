"""The consultation's repositories: the only write-side SQL of the service.

:class:`ConsultationUnitOfWork` is the interface use cases see; :class:`PgConsultationUnitOfWork`
is the Postgres one (the runtime builds it for HTTP requests, reactions and timers); unit tests use
an in-memory one (``tests/fakes/consultation.py``). Each repository's interface and its Postgres
class sit together in the module of its part: :mod:`.forum`, :mod:`.rounds`, :mod:`.inputs`,
:mod:`.responses`, :mod:`.contacts`.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from services.consultation.store.contacts import AuthorContacts, Erasures, PgAuthorContacts, PgErasures
from services.consultation.store.forum import Emissions, Forums, PgEmissions, PgForums
from services.consultation.store.inputs import Inputs, Participants, PgInputs, PgParticipants
from services.consultation.store.responses import (
    PgReports,
    PgResponses,
    PgResponseTables,
    Reports,
    Responses,
    ResponseTables,
)
from services.consultation.store.rounds import (
    Commitments,
    PgCommitments,
    PgRounds,
    PgSpaces,
    Rounds,
    Spaces,
)
from shared.uow import EventSink, UnitOfWork

SERVICE = "consultation"


class ConsultationUnitOfWork(EventSink, Protocol):
    # Read-only, so that any class whose repositories satisfy these interfaces is one.
    @property
    def spaces(self) -> Spaces: ...

    @property
    def commitments(self) -> Commitments: ...

    @property
    def rounds(self) -> Rounds: ...

    @property
    def inputs(self) -> Inputs: ...

    @property
    def participants(self) -> Participants: ...

    @property
    def responses(self) -> Responses: ...

    @property
    def response_tables(self) -> ResponseTables: ...

    @property
    def reports(self) -> Reports: ...

    @property
    def forums(self) -> Forums: ...

    @property
    def emissions(self) -> Emissions: ...

    @property
    def author_contacts(self) -> AuthorContacts: ...

    @property
    def erasures(self) -> Erasures: ...

    def forget(self, topic: str, key: str) -> None:
        """Queue a tombstone for ``key`` on a compacted topic (with the transaction's events)."""

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """A nested transaction: when its block fails, its changes and events are undone."""
        ...


@dataclass
class PgConsultationUnitOfWork(UnitOfWork):
    spaces: PgSpaces = field(init=False)
    commitments: PgCommitments = field(init=False)
    rounds: PgRounds = field(init=False)
    inputs: PgInputs = field(init=False)
    participants: PgParticipants = field(init=False)
    responses: PgResponses = field(init=False)
    response_tables: PgResponseTables = field(init=False)
    reports: PgReports = field(init=False)
    forums: PgForums = field(init=False)
    emissions: PgEmissions = field(init=False)
    author_contacts: PgAuthorContacts = field(init=False)
    erasures: PgErasures = field(init=False)

    def __post_init__(self) -> None:
        self.spaces = PgSpaces(self)
        self.commitments = PgCommitments(self)
        self.rounds = PgRounds(self)
        self.inputs = PgInputs(self)
        self.participants = PgParticipants(self)
        self.responses = PgResponses(self)
        self.response_tables = PgResponseTables(self)
        self.reports = PgReports(self)
        self.forums = PgForums(self)
        self.emissions = PgEmissions(self)
        self.author_contacts = PgAuthorContacts(self)
        self.erasures = PgErasures(self)
