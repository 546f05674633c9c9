"""Condition pages: /conditions and one page per knowledge-base condition, written from the knowledge base
(one text per fact) with causes, stepped treatment and recovery for the conditions the clinic treats."""

from __future__ import annotations

import html
import re

import yaml
from booking_helpers import make_clinic

from hindfoot.clinic.conditions import PAGES, condition_pages
from hindfoot.clinic.guide import sources
from hindfoot.knowledge.loader import load_kb

SEED_CONDITIONS = {"posterior_ankle_impingement": "posterior-ankle-impingement",
                   "anterior_ankle_impingement": "footballers-ankle", "lateral_ankle_sprain": "torn-ankle-ligament",
                   "ankle_osteoarthritis": "ankle-osteoarthritis", "peroneal_tendon_disorder": "peroneal-subluxation"}


def test_the_page_data_names_real_conditions_and_sources():
    data = yaml.safe_load(PAGES.read_text(encoding="utf-8"))["pages"]
    kb = load_kb()
    assert set(SEED_CONDITIONS) <= set(data)
    for cid, page in data.items():
        assert cid in kb.condition_by_id
        assert set(page["sources"]) <= set(sources()), cid
    assert {p.id for p in condition_pages()} == {c.id for c in kb.conditions}
    assert len({p.slug for p in condition_pages()}) == len(kb.conditions)


def test_every_condition_has_a_page_with_the_knowledge_base_wording(client):
    listing = client.get("/conditions")
    assert listing.status_code == 200
    kb = load_kb()
    for slug in SEED_CONDITIONS.values():
        assert f'href="/conditions/{slug}"' in listing.text
    for page in condition_pages():
        r = client.get(f"/conditions/{page.slug}")
        assert r.status_code == 200, page.slug
        text = html.unescape(r.text)
        condition = kb.condition_by_id[page.id]
        assert condition.patient.name in text and condition.patient.explanation in text
        assert condition.patient.consultation in text and 'href="/check"' in text
        if page.urgent:
            assert "This needs prompt care" in text and f"/book?reason={page.id}" not in text
        else:
            assert f'href="/book?reason={page.id}"' in text


def test_a_treated_condition_page_has_causes_treatment_recovery_and_readable_sources(client, db):
    make_clinic(db)
    db.commit()
    r = client.get("/conditions/posterior-ankle-impingement")
    text = html.unescape(r.text)
    for heading in ("What it is", "Usual symptoms", "Causes", "How it is diagnosed", "Treatment, step by step",
                    "Recovery", "What to do next"):
        assert f">{heading}</h2>" in text
    assert "Keyhole surgery through two small cuts" in text
    assert "Clinic page: Capital Orthopaedics, treatment for posterior ankle impingement" in text
    visible = re.sub(r"<[^>]+>", " ", text)
    assert ".txt" not in visible and "S0" not in visible.split()
    booked = client.get("/book", params={"reason": "posterior_ankle_impingement"})
    assert "posterior_ankle_impingement</" not in booked.text and "Possible posterior ankle impingement" in booked.text
    assert client.get("/conditions/no-such-thing").status_code == 404
