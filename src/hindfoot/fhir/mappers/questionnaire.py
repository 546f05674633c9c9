"""Questionnaire and QuestionnaireResponse (R4 4.0.1).

Profiles: http://hl7.org/fhir/StructureDefinition/{Questionnaire,QuestionnaireResponse}. The stored
Questionnaire JSON is published under the row's id; a response points at it by canonical URL.
"""

from __future__ import annotations

from typing import Any

from hindfoot.fhir.mappers.common import instant, meta, narrative, ref, resource

RESPONSE_STATUS = {"in-progress", "completed", "amended", "entered-in-error", "stopped"}


def canonical(questionnaire: Any) -> str:
    url = (questionnaire.definition or {}).get("url") or f"https://hindfoot.org/fhir/Questionnaire/{questionnaire.code}"
    return f"{url}|{questionnaire.version}"


_PUBLISHED: dict[tuple[Any, Any], dict[str, Any]] = {}


def questionnaire_to_fhir(questionnaire: Any) -> dict[str, Any]:
    """The published Questionnaire; built once per stored version (the result is shared: read only)."""
    key = (questionnaire.id, getattr(questionnaire, "updated_at", None))
    if key not in _PUBLISHED:
        if len(_PUBLISHED) > 64:
            _PUBLISHED.clear()
        _PUBLISHED[key] = _publish(questionnaire)
    return _PUBLISHED[key]


def _publish(questionnaire: Any) -> dict[str, Any]:
    data = dict(questionnaire.definition or {})
    data.pop("text", None)
    data.update(resourceType="Questionnaire", id=str(questionnaire.id), meta=meta(questionnaire),
                text=narrative(questionnaire.title), status=questionnaire.status, title=questionnaire.title,
                version=questionnaire.version)
    data.setdefault("url", canonical(questionnaire).split("|")[0])
    if any("enableWhen" in str(k) for k in _walk_keys(data.get("item", []))):
        data["item"] = _with_displays(data.get("item", []), _options(data))
    return data


def _walk_keys(items: list[dict[str, Any]]) -> list[str]:
    keys: list[str] = []
    for item in items:
        keys += list(item)
        keys += _walk_keys(item.get("item", []))
    return keys


def _with_displays(items: list[dict[str, Any]], options: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Copies of the items whose enableWhen codings carry the display their question offers."""
    out = []
    for item in items:
        item = dict(item)
        if "enableWhen" in item:
            conditions = []
            for cond in item["enableWhen"]:
                coding = cond.get("answerCoding")
                if coding and "display" not in coding:
                    offered = options.get(cond.get("question", ""), {}).get(str(coding.get("code")), {})
                    coding = {**coding, "display": offered.get("display", str(coding.get("code")))}
                    cond = {**cond, "answerCoding": coding}
                conditions.append(cond)
            item["enableWhen"] = conditions
        if "item" in item:
            item["item"] = _with_displays(item["item"], options)
        out.append(item)
    return out


def _options(definition: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """linkId -> answer code -> the Coding the Questionnaire offers for it."""
    out: dict[str, dict[str, dict[str, Any]]] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            opts = [o["valueCoding"] for o in item.get("answerOption", []) if "valueCoding" in o]
            if opts:
                out[item["linkId"]] = {str(c["code"]): c for c in opts}
            walk(item.get("item", []))

    walk(definition.get("item", []))
    return out


def _answer(value: Any, options: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if options is not None and str(value) in options:
        c = options[str(value)]
        out = {k: c[k] for k in ("system", "code", "display") if k in c}
        out.setdefault("display", str(c["code"]).replace("_", " "))
        return {"valueCoding": out}
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, float):
        return {"valueDecimal": value}
    return {"valueString": str(value)}


_OPTIONS: dict[tuple[Any, Any], dict[str, dict[str, dict[str, Any]]]] = {}


def questionnaire_response_to_fhir(response: Any) -> dict[str, Any]:
    questionnaire = response.questionnaire
    key = (questionnaire.id, getattr(questionnaire, "updated_at", None))
    options = _OPTIONS.get(key)
    if options is None:  # the answer codings of a questionnaire version, worked out once
        if len(_OPTIONS) > 64:
            _OPTIONS.clear()
        options = _OPTIONS[key] = _options(questionnaire.definition or {})
    items = [{"linkId": str(link), "answer": [_answer(v, options.get(str(link)))]}
             for link, v in (response.answers or {}).items() if v is not None and v != ""]
    status = response.status if response.status in RESPONSE_STATUS else "in-progress"
    return resource(
        "QuestionnaireResponse", response,
        narrative(f"{questionnaire.title}: {response.timepoint} ({status})",
                  ", ".join(f"{k} {v}" for k, v in (response.scores or {}).items())),
        questionnaire=canonical(questionnaire),
        status=status,
        subject=ref("Patient", response.patient_id),
        authored=instant(response.authored_at),
        item=items,
    )
