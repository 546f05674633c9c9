"""The scripted demo patients: who each one is, how far along the pathway, and the clinical
pictures and codes their stories use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

SEED = 20_240_611
OPEN_DAYS = timedelta(days=14)  # follow-ups that fell due this recently are still open (their window is ±14 days)
LONDON = ZoneInfo("Europe/London")
STAGES = (
    "enquiry", "assessment", "investigation", "conservative_care", "surgical_listing", "surgery",
    "post_op", "rehabilitation", "returned_to_sport", "discharged",
)
SURGICAL_STAGES = ("surgery", "post_op", "rehabilitation", "returned_to_sport", "discharged")

# evidence.md 8.1: (SNOMED CT, ICD-10 WHO)
CONDITION_CODES: dict[str, tuple[str, str, str]] = {
    "posterior_ankle_impingement": ("240021001", "M25.87", "Posterior ankle impingement"),
    "anterior_ankle_impingement": ("240021001", "M25.87", "Anterior ankle impingement"),
    "fhl_tenosynovitis": ("1290493007", "M65.87", "Flexor hallucis longus tenosynovitis"),
    "achilles_tendinopathy_midportion": ("11654001", "M76.6", "Mid-portion Achilles tendinopathy"),
    "lateral_ankle_sprain": ("44465007", "S93.4", "Lateral ankle ligament sprain"),
    "plantar_fasciitis": ("202882003", "M72.2", "Plantar fasciopathy"),
    "stress_fracture": ("240197007", "M84.37", "Stress fracture"),
}
# evidence.md 8.2 (CPT; no SNOMED procedure concept was found for posterior ankle arthroscopy)
PROCEDURE_CPT = {
    "posterior_arthroscopic_excision": "29999",
    "posterior_arthroscopic_debridement": "29898",
    "open_excision": "28120",
    "image_guided_injection": None,
}
DURATION = {  # minutes
    "new_consultation": 40, "follow_up": 20, "physiotherapy": 45, "image_guided_injection": 30,
    "imaging": 30, "day_case_surgery": 90, "nurse_dressing": 20, "telephone": 15,
}

# Clinical pictures (evidence.md 3.3): always present, present with probability, always absent.
PICTURES: dict[str, dict[str, Any]] = {
    "posterior_ankle_impingement": {
        "always": ["pain_back_of_ankle", "pain_on_pointing_toes", "hyperplantarflexion_test_positive"],
        "maybe": {"posterolateral_tenderness": 0.75, "onset_gradual": 0.65, "reduced_pointing_range": 0.6,
                  "pain_deep_hard_to_locate": 0.6, "pain_posterolateral": 0.55, "swelling_back_of_ankle": 0.4,
                  "clicking_or_cracking": 0.3, "pain_posteromedial": 0.3, "pain_at_rest_or_night": 0.2,
                  "giving_way": 0.2, "pain_on_push_off": 0.4},
        "absent": ["pain_achilles_midportion", "pain_under_heel", "cannot_bear_weight",
                   "thompson_test_positive", "hot_red_joint", "pain_front_of_ankle"],
    },
    "anterior_ankle_impingement": {
        "always": ["pain_front_of_ankle", "pain_on_pulling_toes_up", "hyperdorsiflexion_test_positive",
                   "anterior_joint_line_tenderness"],
        "maybe": {"after_ankle_sprain": 0.4, "repeated_sprains": 0.3, "swelling_whole_ankle": 0.25},
        "absent": ["pain_on_pointing_toes", "hyperplantarflexion_test_positive", "pain_back_of_ankle",
                   "cannot_bear_weight"],
    },
    "fhl_tenosynovitis": {
        "always": ["pain_posteromedial", "posteromedial_tenderness", "fhl_resisted_hallux_flexion_pain",
                   "repetitive_forced_plantarflexion"],
        "maybe": {"big_toe_pain_or_triggering": 0.6, "pain_on_push_off": 0.6, "pain_on_pointing_toes": 0.6},
        "absent": ["pain_posterolateral", "cannot_bear_weight", "burning_tingling_sole"],
    },
    "achilles_tendinopathy_midportion": {
        "always": ["pain_achilles_midportion", "achilles_midportion_thickened_tender", "onset_gradual"],
        "maybe": {"pain_first_steps_morning": 0.7, "warm_up_eases_pain": 0.65, "pain_on_push_off": 0.6,
                  "recent_training_increase": 0.5},
        "absent": ["palpable_gap_achilles", "thompson_test_positive", "fluoroquinolone_or_steroid",
                   "hyperplantarflexion_test_positive"],
    },
    "lateral_ankle_sprain": {
        "always": ["onset_sudden_injury", "injury_inversion", "pain_outer_ankle", "atfl_tenderness",
                   "duration_under_2_weeks"],
        "maybe": {"swelling_whole_ankle": 0.6, "anterior_drawer_positive": 0.4, "giving_way": 0.3},
        "absent": ["malleolar_bone_tenderness", "cannot_bear_weight", "pain_back_of_ankle"],
    },
    "plantar_fasciitis": {
        "always": ["pain_under_heel", "pain_first_steps_morning", "medial_calcaneal_tubercle_tenderness",
                   "onset_gradual"],
        "maybe": {"warm_up_eases_pain": 0.5, "recent_training_increase": 0.3},
        "absent": ["pain_back_of_ankle", "hyperplantarflexion_test_positive", "burning_tingling_sole"],
    },
    "stress_fracture": {
        "always": ["onset_gradual", "recent_training_increase", "calcaneal_squeeze_positive",
                   "low_energy_or_bone_health"],
        "maybe": {"pain_on_push_off": 0.6, "pain_at_rest_or_night": 0.35},
        "absent": ["onset_sudden_injury", "injury_inversion", "hyperplantarflexion_test_positive"],
    },
}
PLANTARFLEXION_SPORTS = {"ballet", "contemporary_dance", "football", "cricket_fast_bowling", "gymnastics", "rugby"}
SPORT_LABEL = {
    "ballet": "ballet", "contemporary_dance": "contemporary dance", "football": "football",
    "cricket_fast_bowling": "fast bowling", "gymnastics": "gymnastics", "running": "running",
    "rugby": "rugby", "tennis": "tennis", "none": "daily activities",
}


@dataclass
class Spec:
    """One scripted patient: the pathway stage reached and the story behind it."""

    stage: str
    condition: str = "posterior_ankle_impingement"
    variant: str = "os_trigonum"  # os_trigonum | stieda | soft_tissue | other
    sport: str = "none"
    level: str | None = None
    procedure: str | None = None  # surgical procedure for surgical stages
    complication: str | None = None
    conservative_success: bool = False
    account: str | None = None
    name: tuple[str, str, str] | None = None  # given, family, sex
    age: int | None = None
    surgery_ago: int | None = None
    rts: str | None = None

PAI_SPECS: list[Spec] = [
    # enquiry
    Spec("enquiry", sport="ballet", level="competitive"),
    Spec("enquiry", sport="football", variant="soft_tissue"),
    Spec("enquiry", sport="gymnastics"),
    Spec("enquiry", sport="none", variant="stieda"),
    # assessment
    Spec("assessment", sport="contemporary_dance", variant="stieda"),
    Spec("assessment", sport="cricket_fast_bowling"),
    Spec("assessment", sport="football", variant="soft_tissue"),
    Spec("assessment", sport="ballet"),
    # investigation
    Spec("investigation", sport="ballet"),
    Spec("investigation", sport="rugby", variant="soft_tissue"),
    Spec("investigation", sport="gymnastics", variant="stieda"),
    Spec("investigation", sport="football"),
    # conservative care
    Spec("conservative_care", sport="ballet", account="patient4"),
    Spec("conservative_care", sport="football", variant="soft_tissue"),
    Spec("conservative_care", sport="cricket_fast_bowling"),
    Spec("conservative_care", sport="contemporary_dance", variant="stieda"),
    Spec("conservative_care", sport="none", variant="soft_tissue"),
    # listed for surgery after failed conservative care
    Spec("surgical_listing", sport="ballet", level="professional", procedure="posterior_arthroscopic_excision"),
    Spec("surgical_listing", sport="football", level="professional", procedure="posterior_arthroscopic_excision"),
    Spec("surgical_listing", sport="cricket_fast_bowling", variant="stieda", procedure="posterior_arthroscopic_excision"),
    Spec("surgical_listing", sport="gymnastics", procedure="posterior_arthroscopic_excision"),
    # day of surgery / pre-op done
    Spec("surgery", sport="football", level="professional", procedure="posterior_arthroscopic_excision", surgery_ago=0),
    Spec("surgery", sport="ballet", procedure="posterior_arthroscopic_excision", surgery_ago=-1),
    Spec("surgery", sport="rugby", variant="soft_tissue", procedure="posterior_arthroscopic_debridement", surgery_ago=-1),
    # post-op week 1
    Spec("post_op", sport="ballet", level="professional", procedure="posterior_arthroscopic_excision", account="patient2"),
    Spec("post_op", sport="football", procedure="posterior_arthroscopic_excision"),
    Spec("post_op", sport="contemporary_dance", variant="stieda", procedure="posterior_arthroscopic_excision"),
    Spec("post_op", sport="none", procedure="open_excision"),
    # rehabilitation
    Spec("rehabilitation", sport="ballet", level="professional", procedure="posterior_arthroscopic_excision",
         account="patient", name=("Isabel", "Thornbury", "female"), age=24, surgery_ago=48),
    Spec("rehabilitation", sport="football", procedure="posterior_arthroscopic_excision", surgery_ago=30),
    Spec("rehabilitation", sport="cricket_fast_bowling", variant="stieda", procedure="posterior_arthroscopic_excision",
         complication="Transient sural nerve numbness (posterolateral portal), resolving", surgery_ago=40),
    Spec("rehabilitation", sport="gymnastics", procedure="posterior_arthroscopic_excision", surgery_ago=20),
    Spec("rehabilitation", sport="running", variant="soft_tissue", procedure="posterior_arthroscopic_debridement",
         surgery_ago=60),
    # returned to sport
    Spec("returned_to_sport", sport="football", level="professional", procedure="posterior_arthroscopic_excision",
         surgery_ago=100, rts="returned_previous_level", account="patient3"),
    Spec("returned_to_sport", sport="ballet", procedure="posterior_arthroscopic_excision", surgery_ago=130,
         rts="returned_previous_level"),
    Spec("returned_to_sport", sport="rugby", variant="soft_tissue", procedure="posterior_arthroscopic_debridement",
         surgery_ago=90, rts="returned_higher_level"),
    Spec("returned_to_sport", sport="cricket_fast_bowling", procedure="posterior_arthroscopic_excision",
         surgery_ago=150, rts="returned_lower_level"),
    Spec("returned_to_sport", sport="football", variant="soft_tissue", conservative_success=True),
    # discharged
    Spec("discharged", sport="ballet", procedure="open_excision", surgery_ago=330, rts="returned_previous_level",
         complication="Superficial wound infection, settled with oral antibiotics"),
    Spec("discharged", sport="football", procedure="posterior_arthroscopic_excision", surgery_ago=390,
         rts="returned_previous_level"),
    Spec("discharged", sport="gymnastics", variant="stieda", procedure="posterior_arthroscopic_excision",
         surgery_ago=230, rts="returned_previous_level"),
    Spec("discharged", sport="none", variant="soft_tissue", procedure="posterior_arthroscopic_debridement",
         surgery_ago=260, rts="returned_previous_level"),
    Spec("discharged", sport="contemporary_dance", variant="soft_tissue", conservative_success=True),
]
OTHER_SPECS: list[Spec] = [
    Spec("conservative_care", condition="achilles_tendinopathy_midportion", variant="other", sport="running"),
    Spec("conservative_care", condition="fhl_tenosynovitis", variant="other", sport="ballet"),
    Spec("assessment", condition="lateral_ankle_sprain", variant="other", sport="rugby"),
    Spec("investigation", condition="anterior_ankle_impingement", variant="other", sport="football"),
    Spec("conservative_care", condition="plantar_fasciitis", variant="other", sport="none"),
    Spec("investigation", condition="stress_fracture", variant="other", sport="running"),
    Spec("discharged", condition="lateral_ankle_sprain", variant="other", sport="tennis", conservative_success=True),
]
