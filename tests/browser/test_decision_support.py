"""Decision support in a real browser: the patient's symptom check and the clinician's live panel.

Neither test writes to the shared demo database: the symptom check runs anonymously and the
clinician only recalculates (no Save).
"""

from __future__ import annotations

import re

from browsing import sign_in
from playwright.sync_api import expect

# A runner with pain under the heel, worst with the first steps in the morning (like a plantar
# fasciopathy vignette); every other question is answered "No" or "Not sure".
YES = {"pain_under_heel", "pain_first_steps_morning", "onset_gradual", "recent_training_increase",
       "warm_up_eases_pain"}
NOT_SURE = {"low_energy_or_bone_health", "burning_tingling_sole"}


def test_patient_completes_the_symptom_check(page):
    page.goto("/")
    page.get_by_role("link", name="Check your symptoms").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Check your ankle or heel symptoms")
    page.get_by_label("Age (years)").fill("45")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Main sport or activity").select_option("running")
    page.get_by_role("button", name="Start the questions").click()
    asked = []
    for _ in range(16):
        if "/check/result" in page.url:
            break
        expect(page.locator(".progress-text")).to_contain_text(f"Question {len(asked) + 1}")
        finding = page.locator("input[name=finding]").get_attribute("value")
        options = page.locator("input[name=choice]")  # where it hurts / how it started: one answer of several
        if options.count():
            picked = [v for v in options.evaluate_all("els => els.map(e => e.value)") if v in YES] or ["unknown"]
            asked.append(picked[0] if picked[0] != "unknown" else finding)
            page.locator(f"input[name=choice][value={picked[0]}]").check()
        else:
            asked.append(finding)
            label = "Yes" if finding in YES else "Not sure" if finding in NOT_SURE else "No"
            page.get_by_label(label, exact=True).check()
        page.get_by_role("button", name="Next").click()
    expect(page).to_have_url(re.compile(r"/check/result$"))
    assert 3 <= len(asked) <= 15
    # the presenting complaint first: where it hurts (one question, the sites as answers), then how it started
    assert asked[:2] == ["pain_under_heel", "onset_gradual"], asked
    expect(page.locator(".ds-disposition h1")).to_have_text(re.compile(r"Look after it yourself|Book a specialist"))
    expect(page.get_by_text("This is decision support, not a diagnosis.")).to_be_visible()
    conditions = page.locator(".ds-condition")
    assert 3 <= conditions.count() <= 5
    expect(conditions.first.get_by_role("heading")).to_contain_text(re.compile("heel", re.I))
    book = page.locator(".ds-book")
    expect(book).to_be_visible()
    assert book.get_attribute("href").startswith("/book?reason=")
    # change an answer: the check goes back to that question and returns to a result
    page.locator(".ds-answers a").first.click()
    expect(page.locator(".progress-text")).to_contain_text("Change your answer")
    page.get_by_role("link", name="Keep my answer").click()
    expect(page).to_have_url(re.compile(r"/check/result$"))


def _probability(page, condition: str) -> float:
    text = page.locator(f'#ds-panel [data-condition="{condition}"] .ds-prob').inner_text()
    return float(text.rstrip("%"))


def test_clinician_ticks_findings_and_the_ranking_changes_live(page):
    sign_in(page, "surgeon@demo.hindfoot.local")
    page.goto("/patients?stage=assessment")
    page.locator("#patient-table tbody tr td a").first.click()
    page.get_by_role("link", name="Decision support: findings and differential").first.click()
    expect(page.get_by_role("heading", name="Differential")).to_be_visible()
    expect(page.locator("#ds-panel .ds-rank")).to_have_count(20)
    before = _probability(page, "achilles_rupture")
    rupture_prob = page.locator('#ds-panel [data-condition="achilles_rupture"] .ds-prob')
    # clear the stored findings first so the story below is the whole case
    page.locator('#ds-form input[value="unknown"]').evaluate_all("els => els.forEach(e => { e.checked = true; })")
    page.locator('input[name="f.pain_under_heel"][value="absent"]').check()
    expect(rupture_prob).not_to_have_text(f"{before:.1f}%")
    cleared = _probability(page, "achilles_rupture")
    for finding in ("pop_or_kick_in_calf", "thompson_test_positive", "palpable_gap_achilles"):
        page.locator(f'input[name="f.{finding}"][value="present"]').check()
    # htmx re-posts the form on each change and swaps the panel: no page load, no Save
    expect(page.locator("#ds-panel .ds-rank").first).to_have_attribute("data-condition", "achilles_rupture")
    assert _probability(page, "achilles_rupture") > cleared
    expect(page.locator("#ds-panel [data-disposition]")).to_have_attribute("data-disposition",
                                                                           re.compile("urgent|emergency"))
    top = page.locator("#ds-panel .ds-rank").first
    expect(top.locator("details")).to_contain_text("Simmonds-Thompson")
    expect(top.locator("a[href^='/sources#']").first).to_be_visible()
    expect(page.locator(".ds-next li").first).to_be_visible()
    # setting them back to unknown brings the previous ranking back
    for finding in ("pop_or_kick_in_calf", "thompson_test_positive", "palpable_gap_achilles"):
        page.locator(f'input[name="f.{finding}"][value="unknown"]').check()
    expect(rupture_prob).to_have_text(f"{cleared:.1f}%")
