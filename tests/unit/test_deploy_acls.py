"""The cluster's KafkaUsers let each service read exactly the topics its reactions consume: a
reaction added in code without its ACL would be refused by the broker only in the cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.consultation.service import SPEC as CONSULTATION
from services.consultation.settings import ConsultationSettings
from services.irm.service import SPEC as IRM
from services.irm.settings import IrmSettings
from services.notifications.service import SPEC as NOTIFICATIONS
from services.notifications.settings import NotificationsSettings
from services.plans.service import SPEC as PLANS
from services.plans.settings import PlansSettings
from shared.runtime import ServiceSpec
from shared.settings import ServiceSettings

USERS = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "base" / "kafka" / "users.yaml"


class _Rt:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings


def _consumed(spec: ServiceSpec, settings: ServiceSettings) -> set[str]:
    reactions: Any = spec.reactions(_Rt(settings))  # type: ignore[arg-type]
    return {model.topic for model in reactions.handlers if model.topic}


def _readable(user: str) -> set[str]:
    docs = [d for d in yaml.safe_load_all(USERS.read_text()) if d and d["metadata"]["name"] == user]
    [doc] = docs
    return {
        acl["resource"]["name"]
        for acl in doc["spec"]["authorization"]["acls"]
        if acl["resource"]["type"] == "topic" and "Read" in acl["operations"]
    }


@pytest.mark.parametrize(
    ("spec", "settings"),
    [
        (PLANS, PlansSettings()),
        (CONSULTATION, ConsultationSettings()),
        (IRM, IrmSettings()),
        (NOTIFICATIONS, NotificationsSettings()),
    ],
    ids=lambda v: getattr(v, "name", ""),
)
def test_each_service_may_read_exactly_what_it_consumes(spec: ServiceSpec, settings: ServiceSettings) -> None:
    assert _readable(f"sharaka-{spec.name}") == _consumed(spec, settings)
