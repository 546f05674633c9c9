"""Outcome instruments as data: FHIR R4 Questionnaire files parsed into a small typed model.

The questionnaires ship as JSON next to this module (`faos.json`, `faam.json`, `pain.json`,
`rts.json`) so the patient page, the FHIR export and the scoring all read one definition. Their
item labels are paraphrased: the licensed FAOS/FAAM wording is not ours to redistribute. A clinic
that holds the licensed wording loads its own Questionnaire with `load_questionnaire_file`, which
refuses any file whose item ids, sections or answer codes differ from ours, because scoring and
stored responses are keyed on those ids and codes.

Parsing here is plain JSON walking on purpose: the app imports `fhir.resources` in one module
only (`hindfoot.fhir`), and the shipped files are validated against the R4B model in the tests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

from hindfoot.errors import InvalidInput

__all__ = [
    "INSTRUMENT_CODES",
    "PARAPHRASED_EXTENSION",
    "AnswerOption",
    "Instrument",
    "InstrumentError",
    "Item",
    "Mcid",
    "Section",
    "load_instrument",
    "load_mcid",
    "load_questionnaire_file",
    "parse_questionnaire",
]

INSTRUMENT_CODES: Final = ("faos", "faam", "pain", "rts")
PARAPHRASED_EXTENSION: Final = "https://hindfoot.org/fhir/StructureDefinition/paraphrased-item-text"
_MIN_VALUE: Final = "http://hl7.org/fhir/StructureDefinition/minValue"
_MAX_VALUE: Final = "http://hl7.org/fhir/StructureDefinition/maxValue"

ItemKind = Literal["choice", "integer", "date"]
AnswerValue = int | str
"""The value stored for an answer: numeric codes ("0".."10") become ints, others ("na",
"returned_previous_level") stay strings. Response JSON and scoring use these values."""


class InstrumentError(InvalidInput, ValueError):
    """An unknown instrument code, or a Questionnaire file that is unreadable or does not fit."""

    code = "invalid_instrument"


@dataclass(frozen=True, slots=True)
class AnswerOption:
    value: AnswerValue
    display: str


@dataclass(frozen=True, slots=True)
class Item:
    """One question. `options` for choice items, `min_value`/`max_value` for integer items."""

    id: str
    text: str
    section: str
    kind: ItemKind
    required: bool = False
    options: tuple[AnswerOption, ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    enable_when: tuple[tuple[str, str, str], ...] = ()
    """(question id, operator, answer code): FHIR enableWhen, e.g. the return date is asked
    only when the status is not `not_returned`."""

    @property
    def allowed_values(self) -> tuple[AnswerValue, ...] | None:
        """The values a response may hold for a choice item; None when not a closed list."""
        return tuple(o.value for o in self.options) if self.kind == "choice" else None


@dataclass(frozen=True, slots=True)
class Section:
    """A subscale page: the patient page shows one section per page."""

    id: str
    title: str
    item_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Instrument:
    code: str
    url: str
    version: str
    name: str
    title: str
    description: str
    paraphrased: bool
    sections: tuple[Section, ...]
    items: tuple[Item, ...]

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.items)

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)


@dataclass(frozen=True, slots=True)
class Mcid:
    """Minimal clinically important difference of one subscale, in score points."""

    value: float
    better: Literal["higher", "lower"]
    sources: tuple[str, ...]
    note: str = ""


def load_instrument(code: str) -> Instrument:
    """The shipped questionnaire for `code` (one of INSTRUMENT_CODES), parsed once and cached."""
    if code not in INSTRUMENT_CODES:
        raise InstrumentError(
            f"unknown instrument {code!r} (expected one of {', '.join(INSTRUMENT_CODES)})",
            field="instrument",
        )
    return _load_packaged(code)


@cache
def _load_packaged(code: str) -> Instrument:
    return parse_questionnaire(packaged_definition(code), code)


def packaged_definition(code: str) -> dict[str, Any]:
    """The packaged FHIR Questionnaire JSON of an instrument (paraphrased item wording)."""
    if code not in INSTRUMENT_CODES:
        raise InstrumentError(f"unknown instrument {code!r}", field="instrument")
    text = resources.files(__name__).joinpath(f"{code}.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def load_questionnaire_file(path: str | Path, code: str | None = None) -> Instrument:
    """Parse a clinic's own Questionnaire (e.g. with the licensed wording) and check it fits.

    The file must have exactly the sections, item ids, item types and answer codes of the shipped
    instrument, so responses and scores stay comparable whichever wording a patient saw. With no
    `code`, the instrument is the one whose item ids the file has.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InstrumentError(
            f"{path}: cannot read file ({exc.strerror or exc})", field="file"
        ) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InstrumentError(f"{path}: not valid JSON ({exc})", field="file") from exc
    if code is None:
        ids = set(_collect_link_ids(data))
        matches = [c for c in INSTRUMENT_CODES if set(load_instrument(c).item_ids) == ids]
        if not matches:
            raise InstrumentError(
                f"{path}: its item ids match none of {', '.join(INSTRUMENT_CODES)}", field="file"
            )
        code = matches[0]
    reference = load_instrument(code)
    candidate = parse_questionnaire(data, code, source=str(path))
    _check_same_shape(reference, candidate, str(path))
    return candidate


def load_mcid(code: str) -> dict[str, Mcid]:
    """MCID per scored subscale of `code` (faos, faam or pain), with evidence source keys."""
    data = _mcid_data()
    if code not in data:
        raise InstrumentError(f"no MCID data for instrument {code!r}", field="instrument")
    return dict(data[code])


@cache
def _mcid_data() -> dict[str, dict[str, Mcid]]:
    raw = json.loads(resources.files(__name__).joinpath("mcid.json").read_text(encoding="utf-8"))
    return {
        code: {
            sub: Mcid(float(m["value"]), m["better"], tuple(m["sources"]), m.get("note", ""))
            for sub, m in subs.items()
        }
        for code, subs in raw.items()
        if not code.startswith("_")
    }


def parse_questionnaire(data: Any, code: str, *, source: str | None = None) -> Instrument:
    """Turn Questionnaire JSON (already decoded) into an `Instrument`; no I/O.

    Expects top-level `group` items, one per section, each holding the questions; `display`
    items (instructions) are skipped.
    """
    where = source or code

    def bad(message: str) -> InstrumentError:
        return InstrumentError(f"{where}: {message}", field="file")

    if not isinstance(data, Mapping) or data.get("resourceType") != "Questionnaire":
        raise bad("not a FHIR Questionnaire (resourceType must be 'Questionnaire')")
    groups = data.get("item")
    if not isinstance(groups, list) or not groups:
        raise bad("has no items")
    sections: list[Section] = []
    items: list[Item] = []
    seen: set[str] = set()
    for group in groups:
        if not isinstance(group, Mapping) or group.get("type") != "group":
            raise bad(f"top-level item {_link(group)!r} must be a group (one group per section)")
        section_id = _link(group)
        ids: list[str] = []
        for raw in group.get("item") or []:
            if not isinstance(raw, Mapping):
                raise bad(f"section {section_id!r} holds a non-object item")
            if raw.get("type") == "display":
                continue
            item = _parse_item(raw, section_id, bad)
            if item.id in seen:
                raise bad(f"item id {item.id!r} appears twice")
            seen.add(item.id)
            ids.append(item.id)
            items.append(item)
        sections.append(Section(section_id, str(group.get("text", "")), tuple(ids)))
    extensions = data.get("extension") or []
    paraphrased = any(
        isinstance(e, Mapping)
        and e.get("url") == PARAPHRASED_EXTENSION
        and e.get("valueBoolean") is True
        for e in extensions
    )
    return Instrument(
        code=code,
        url=str(data.get("url", "")),
        version=str(data.get("version", "")),
        name=str(data.get("name", "")),
        title=str(data.get("title", "")),
        description=str(data.get("description", "")),
        paraphrased=paraphrased,
        sections=tuple(sections),
        items=tuple(items),
    )


def _link(raw: Any) -> str:
    return str(raw.get("linkId", "?")) if isinstance(raw, Mapping) else "?"


def _parse_item(raw: Mapping[str, Any], section: str, bad: Any) -> Item:
    item_id = _link(raw)
    kind = raw.get("type")
    if kind not in ("choice", "integer", "date"):
        raise bad(f"item {item_id!r} has unsupported type {kind!r} (choice, integer or date)")
    options: list[AnswerOption] = []
    if kind == "choice":
        for opt in raw.get("answerOption") or []:
            coding = opt.get("valueCoding") if isinstance(opt, Mapping) else None
            if not isinstance(coding, Mapping) or "code" not in coding:
                raise bad(f"item {item_id!r}: every answerOption needs a valueCoding with a code")
            options.append(
                AnswerOption(_answer_value(str(coding["code"])), str(coding.get("display", "")))
            )
        if not options:
            raise bad(f"choice item {item_id!r} has no answerOption")
    bounds: dict[str, int] = {}
    for ext in raw.get("extension") or []:
        if isinstance(ext, Mapping) and ext.get("url") in (_MIN_VALUE, _MAX_VALUE):
            bounds[str(ext["url"])] = int(ext["valueInteger"])
    enable_when = tuple(
        (
            str(w.get("question")),
            str(w.get("operator")),
            str((w.get("answerCoding") or {}).get("code", "")),
        )
        for w in raw.get("enableWhen") or []
        if isinstance(w, Mapping)
    )
    return Item(
        id=item_id,
        text=str(raw.get("text", "")),
        section=section,
        kind=kind,
        required=bool(raw.get("required", False)),
        options=tuple(options),
        min_value=bounds.get(_MIN_VALUE),
        max_value=bounds.get(_MAX_VALUE),
        enable_when=enable_when,
    )


def _answer_value(code: str) -> AnswerValue:
    return int(code) if code.isdigit() else code


def _collect_link_ids(data: Any) -> list[str]:
    """Question ids anywhere in the file, for guessing which instrument a file is."""
    out: list[str] = []
    if isinstance(data, Mapping):
        for item in data.get("item") or []:
            if isinstance(item, Mapping):
                if item.get("type") not in ("group", "display"):
                    out.append(_link(item))
                out.extend(_collect_link_ids(item))
    return out


def _check_same_shape(reference: Instrument, candidate: Instrument, where: str) -> None:
    problems: list[str] = []
    ref_ids, cand_ids = set(reference.item_ids), set(candidate.item_ids)
    if missing := sorted(ref_ids - cand_ids, key=reference.item_ids.index):
        problems.append("missing item ids " + ", ".join(missing))
    if extra := sorted(cand_ids - ref_ids):
        problems.append("unknown item ids " + ", ".join(extra))
    if not problems:
        ref_sections = {s.id: set(s.item_ids) for s in reference.sections}
        cand_sections = {s.id: set(s.item_ids) for s in candidate.sections}
        if ref_sections != cand_sections:
            problems.append(
                "sections differ (expected "
                + "; ".join(f"{s.id}: {', '.join(s.item_ids)}" for s in reference.sections)
                + ")"
            )
        for ref in reference.items:
            cand = candidate.item(ref.id)
            if cand.kind != ref.kind:
                problems.append(f"item {ref.id} is {cand.kind}, expected {ref.kind}")
            elif ref.kind == "choice" and set(cand.allowed_values or ()) != set(
                ref.allowed_values or ()
            ):
                expected = ", ".join(str(v) for v in ref.allowed_values or ())
                problems.append(f"item {ref.id} answer codes differ (expected {expected})")
            elif ref.kind == "integer" and (cand.min_value, cand.max_value) != (
                ref.min_value,
                ref.max_value,
            ):
                problems.append(
                    f"item {ref.id} range differs (expected {ref.min_value}-{ref.max_value})"
                )
    if problems:
        raise InstrumentError(
            f"{where}: does not match the {reference.code} instrument: " + "; ".join(problems),
            field="file",
        )
