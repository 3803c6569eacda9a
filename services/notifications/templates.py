"""Message templates per language. A missing language falls back to English; the recipient's
language comes from their contact record.

Plain text only: values are inserted with ``str.format`` into text, never into HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Template:
    subject: str
    body: str


TEMPLATES: dict[str, dict[str, Template]] = {
    "plan_submitted": {
        "en": Template(
            "Action plan submitted: {plan_title}",
            'Dear {name},\n\nThe action plan "{plan_title}" was submitted on {submitted_on}.\n'
            "Co-creation is now closed and the IRM will review the plan.\n\n-- Sharaka",
        ),
        "fr": Template(
            "Plan d'action soumis : {plan_title}",
            "Bonjour {name},\n\nLe plan d'action « {plan_title} » a été soumis le {submitted_on}.\n"
            "La co-création est close ; le MRI va examiner le plan.\n\n-- Sharaka",
        ),
        "es": Template(
            "Plan de acción presentado: {plan_title}",
            "Estimado/a {name}:\n\nEl plan de acción «{plan_title}» se presentó el {submitted_on}.\n"
            "La cocreación ha terminado y el MRI revisará el plan.\n\n-- Sharaka",
        ),
        "ar": Template(
            "تم تقديم خطة العمل: {plan_title}",
            '{name}،\n\nتم تقديم خطة العمل "{plan_title}" بتاريخ {submitted_on}.\n'
            "انتهت مرحلة الإنشاء المشترك وستراجع آلية التقارير المستقلة الخطة.\n\n-- شراكة",
        ),
    },
    "review_scheduled": {
        "en": Template(
            "IRM review scheduled: {plan_title}",
            'Dear {name},\n\nThe IRM scheduled its {review_kind} of "{plan_title}".\n'
            "It is due on {due_date}.\n\n-- Sharaka",
        ),
        "fr": Template(
            "Examen du MRI programmé : {plan_title}",
            "Bonjour {name},\n\nLe MRI a programmé son {review_kind} de « {plan_title} ».\n"
            "Échéance : {due_date}.\n\n-- Sharaka",
        ),
        "es": Template(
            "Revisión del MRI programada: {plan_title}",
            "Estimado/a {name}:\n\nEl MRI programó su {review_kind} de «{plan_title}».\n"
            "Fecha límite: {due_date}.\n\n-- Sharaka",
        ),
        "ar": Template(
            "تمت جدولة مراجعة آلية التقارير المستقلة: {plan_title}",
            '{name}،\n\nجدولت آلية التقارير المستقلة مراجعة ({review_kind}) للخطة "{plan_title}".\n'
            "الموعد النهائي: {due_date}.\n\n-- شراكة",
        ),
    },
}


def render(template: str, language: str, params: dict[str, Any]) -> Template:
    by_language = TEMPLATES[template]
    chosen = by_language.get(language) or by_language["en"]
    return Template(chosen.subject.format(**params), chosen.body.format(**params))
