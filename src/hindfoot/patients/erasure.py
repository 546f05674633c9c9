"""What erasing a patient's data removes and what the clinic must keep (GDPR article 17), in words the
patient reads on the answer page and in the email. Pure: the service (`hindfoot.patients.rights`)
does the erasing; this module says what it means.

Article 17(3)(b) and (c) exempt from erasure what the clinic must keep by law or for health care:
the clinical record for its retention period, and the audit trail that shows who saw and changed it.
"""

from __future__ import annotations

from dataclasses import dataclass

ERASED_NAME = ("Erased", "patient")  # given name, family name once erased
ERASED_EMAIL_DOMAIN = "erased.invalid"  # RFC 2606: never delivered

# Patient columns emptied by an erasure (contact details and free-text demographics)
ERASED_PATIENT_FIELDS = ("email", "phone", "address", "gp_practice", "emergency_contact", "emergency_phone",
                         "preferred_contact")


@dataclass(frozen=True)
class Item:
    what: str
    why: str


ERASED: tuple[Item, ...] = (
    Item("Your name", "replaced by \u201cErased patient\u201d everywhere it is shown and no longer found by a search"),
    Item("Your email address, phone number and postal address", "removed"),
    Item("Your GP practice, emergency contact and contact preference", "removed"),
    Item("Your sign-in account", "its email and password are removed and every session is ended: it can no "
                                 "longer sign in"),
    Item("Copies of your email address on questionnaire reminders", "removed"),
    Item("Your future appointments", "cancelled, since the clinic can no longer reach you (they stay in the record "
                                     "as cancelled)"),
)

KEPT: tuple[Item, ...] = (
    Item("Your date of birth, sex and clinic record number",
         "they identify the medical record the clinic must keep, without naming you"),
    Item("Your clinical record: episodes of care, findings, assessments, imaging, diagnoses, procedures, "
         "care plans and appointments",
         "medical records must be kept for the retention period the law sets (GDPR article 17(3)(b) and (c))"),
    Item("Your outcome scores and questionnaire answers",
         "they are part of the medical record (the same retention applies)"),
    Item("The audit trail of who opened or changed your record (including your former email on entries of your "
         "own use)", "the clinic must be able to show who saw your data; the trail is tamper-evident and is never "
                     "edited"),
    Item("This request and the clinic's answer", "the clinic must be able to show how it handled your request "
                                                 "(GDPR article 5(2))"),
)


def erased_email(account_id_hex: str) -> str:
    """The unique, undeliverable sign-in email an erased account keeps (the column is unique and required)."""
    return f"erased-{account_id_hex}@{ERASED_EMAIL_DOMAIN}"


def outcome_text(erased: tuple[Item, ...] = ERASED, kept: tuple[Item, ...] = KEPT) -> str:
    """The answer to an accepted erasure request: what was erased and what was kept, and why."""
    lines = ["Erased:"] + [f"- {i.what}: {i.why}." for i in erased]
    lines += ["", "Kept:"] + [f"- {i.what}: {i.why}." for i in kept]
    return "\n".join(lines)
