"""Patient-facing text is written for patients: no file names, internal notes, raw ids or codes.

Walks every page a member of the public and a signed-in demo patient can reach (following the links
on the pages themselves) and scans what a reader sees: the visible text, not attributes or URLs.
Codes (SNOMED CT, ICD-10) and internal ids belong on staff pages only.
"""

from __future__ import annotations

import html
import re
from datetime import date

from demo_copy import demo_clinic
from factories import login
from sqlalchemy import select

from hindfoot.db.models import UserAccount
from hindfoot.demo import DEMO_PASSWORD

FORBIDDEN = {
    "a file name": re.compile(r"\b[\w-]+\.(?:txt|md|yaml|yml|py|json)\b"),
    "a seed page reference": re.compile(r"\bseed \d{3}", re.I),
    "an internal note": re.compile(r"written for this project|evidence\.md|\bEE\b|tunable|TODO|FIXME"),
    "a raw id": re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"),
    "a SNOMED or ICD code": re.compile(r"\bSNOMED\b|\bICD-?10\b|(?<![\w/.-])(?<!\d )\d{6,18}(?![\w-])|\b[A-Z]\d{2}\.\d{1,2}\b"),
}
SKIP = ("/logout", "/static/", "/api/", "/login", "/password", "/account", "/calendar", "/patients?")


def visible_text(page: str) -> str:
    page = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", " ", page)
    page = re.sub(r"(?s)<!--.*?-->", " ", page)
    page = re.sub(r"(?s)<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page))


def problems(url: str, page: str) -> list[str]:
    text = visible_text(page)
    return [f"{url}: {what}: {m.group(0)!r} in …{text[max(0, m.start() - 50):m.end() + 30]}…"
            for what, rx in FORBIDDEN.items() for m in rx.finditer(text)]


def crawl(client, start: list[str], limit: int = 120) -> dict[str, str]:  # type: ignore[no-untyped-def]
    seen: dict[str, str] = {}
    queue = list(start)
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen or url.startswith(SKIP) or url.startswith(("http", "mailto", "tel", "#")):
            continue
        r = client.get(url)
        if r.status_code != 200 or "text/html" not in r.headers.get("content-type", ""):
            seen[url] = ""
            continue
        seen[url] = r.text
        for link in re.findall(r'href="(/[^"#]*)', r.text):
            link = html.unescape(link)
            if link not in seen and "format=" not in link and ".ics" not in link:
                queue.append(link)
    return seen


def test_the_scan_finds_what_it_looks_for():
    page = ("<p>Source: seed 002_809ab736e855de92.txt; EE Expert estimate written for this project</p>"
            "<p>posterior_ankle_impingement, SNOMED 427268009, ICD-10 M25.57</p>")
    found = " ".join(problems("/x", page))
    for what in FORBIDDEN:
        assert what in found
    assert problems("/x", '<a href="/book?reason=os_trigonum_syndrome">Book</a><p>HF-000123, 020 7946 0000</p>') == []


def test_no_patient_page_shows_files_notes_ids_or_codes(client, db):
    demo_clinic(db, date.today())
    db.commit()
    public = crawl(client, ["/", "/book", "/check", "/sources", "/conditions",
                            "/book?reason=posterior_ankle_impingement", "/book?reason=urgent"])
    confirm = next((u for u in public if u.startswith("/book/confirm")), None)
    assert confirm is not None and public[confirm], "the booking page offers times"
    account = db.scalar(select(UserAccount).where(UserAccount.email == "patient@demo.hindfoot.local"))
    login(client, account.email, DEMO_PASSWORD)
    mine = crawl(client, ["/me", "/appointments", "/questionnaires", "/my/recovery-plan"])
    reached = [u for u, text in mine.items() if text]
    assert any(u.startswith("/patients/") for u in reached) and any(u.startswith("/care-plans/") for u in reached)
    found = [p for pages in (public, mine) for url, text in pages.items() if text for p in problems(url, text)]
    assert found == [], "\n".join(found[:40])
