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
    "consultation_short_notice": {
        "en": Template(
            "Short notice for a consultation: {plan_title}",
            'Dear {name},\n\nThe consultation round "{round_title}" on "{plan_title}" opens on {opens_on}, '
            "{notice_days} days after it was announced.\nOGP's co-creation standards ask for about "
            "{required_days} days' notice; the round is recorded as short notice for the IRM.\n\n-- Sharaka",
        ),
        "fr": Template(
            "Préavis court pour une consultation : {plan_title}",
            "Bonjour {name},\n\nLa consultation « {round_title} » sur « {plan_title} » ouvre le {opens_on}, "
            "{notice_days} jours après son annonce.\nLes normes de co-création de l'OGP demandent environ "
            "{required_days} jours de préavis ; le préavis court est enregistré pour le MRI.\n\n-- Sharaka",
        ),
        "es": Template(
            "Aviso breve de una consulta: {plan_title}",
            "Estimado/a {name}:\n\nLa consulta «{round_title}» sobre «{plan_title}» abre el {opens_on}, "
            "{notice_days} días después de anunciarse.\nLos estándares de cocreación de OGP piden unos "
            "{required_days} días de aviso; el aviso breve queda registrado para el MRI.\n\n-- Sharaka",
        ),
        "ar": Template(
            "إشعار قصير لجولة تشاور: {plan_title}",
            '{name}،\n\nتفتح جولة التشاور "{round_title}" حول "{plan_title}" في {opens_on}، '
            "بعد {notice_days} يوم من الإعلان عنها.\nتطلب معايير الإنشاء المشترك إشعارًا مسبقًا بنحو "
            "{required_days} يومًا؛ وقد سُجّل الإشعار القصير لآلية التقارير المستقلة.\n\n-- شراكة",
        ),
    },
    "consultation_closed": {
        "en": Template(
            "Consultation closed, responses due: {plan_title}",
            'Dear {name},\n\nA consultation round on "{plan_title}" closed on {closed_on} with '
            "{submissions} submissions and {comments} comments.\nEach one needs a reasoned response "
            "(OGP co-creation standard 4).\n\n-- Sharaka",
        ),
        "fr": Template(
            "Consultation close, réponses attendues : {plan_title}",
            "Bonjour {name},\n\nUne consultation sur « {plan_title} » s'est close le {closed_on} avec "
            "{submissions} contributions et {comments} commentaires.\nChacun appelle une réponse motivée "
            "(norme 4 de co-création de l'OGP).\n\n-- Sharaka",
        ),
        "es": Template(
            "Consulta cerrada, respuestas pendientes: {plan_title}",
            "Estimado/a {name}:\n\nUna consulta sobre «{plan_title}» cerró el {closed_on} con "
            "{submissions} aportes y {comments} comentarios.\nCada uno requiere una respuesta razonada "
            "(estándar 4 de cocreación de OGP).\n\n-- Sharaka",
        ),
        "ar": Template(
            "أُغلقت جولة التشاور والردود مطلوبة: {plan_title}",
            '{name}،\n\nأُغلقت جولة تشاور حول "{plan_title}" في {closed_on} وفيها '
            "{submissions} مقترحًا و{comments} تعليقًا.\nيحتاج كل منها إلى رد معلّل "  # noqa: RUF001 (Arabic text)
            "(المعيار الرابع للإنشاء المشترك).\n\n-- شراكة",
        ),
    },
}


def render(template: str, language: str, params: dict[str, Any]) -> Template:
    by_language = TEMPLATES[template]
    chosen = by_language.get(language) or by_language["en"]
    return Template(chosen.subject.format(**params), chosen.body.format(**params))
