"""A patient fills in a questionnaire section by section (saving and resuming) and sees the chart;
a clinician sees the registry dashboard. The demo patient's 6-week questionnaires are open
(she is about seven weeks after surgery)."""

from __future__ import annotations

from browsing import sign_in


def _answer_page(page) -> None:  # type: ignore[no-untyped-def]
    for fieldset in page.locator("fieldset.q-question").all():
        fieldset.get_by_role("radio").nth(1).check()


def test_patient_completes_faos_section_by_section_and_sees_chart(page) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, "patient@demo.hindfoot.local")
    page.get_by_role("link", name="My questionnaires").click()
    page.get_by_role("button", name="Start Foot and Ankle Outcome Score (FAOS), 6 weeks").click()
    page.get_by_text("Page 1 of 5").wait_for()
    _answer_page(page)
    page.get_by_role("button", name="Next page").click()
    page.get_by_text("Page 2 of 5").wait_for()
    _answer_page(page)
    page.get_by_role("button", name="Save and finish later").click()
    page.get_by_role("status").filter(has_text="Your answers are saved").wait_for()

    page.get_by_role("link", name="Continue Foot and Ankle Outcome Score (FAOS), 6 weeks").click()
    page.get_by_text("Page 1 of 5").wait_for()
    assert page.locator("fieldset.q-question input:checked").count() == 7  # resumed with the saved answers
    for n in range(1, 5):
        page.get_by_role("button", name="Next page").click()
        page.get_by_text(f"Page {n + 1} of 5").wait_for()
        _answer_page(page)
    page.get_by_role("button", name="Submit answers").click()
    page.get_by_role("heading", name="My scores over time").wait_for()
    assert "Thank you" in page.get_by_role("status").inner_text()
    chart = page.get_by_role("img", name="FAOS Quality of life")
    assert chart.count() == 1
    page.get_by_text("Show the numbers").first.click()
    assert page.locator("table").first.is_visible()


def test_clinician_sees_registry_dashboard(page) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, "surgeon@demo.hindfoot.local")
    page.get_by_role("link", name="Outcomes").click()
    page.get_by_role("heading", name="Outcomes registry").wait_for()
    assert page.get_by_role("img", name="Time to return to sport (Kaplan-Meier, share returned)").count() == 1
    page.get_by_label("Sport", exact=True).select_option("ballet")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**/outcomes?sport=ballet**")
    assert page.get_by_role("link", name="Download de-identified CSV").get_attribute("href").endswith("sport=ballet")
