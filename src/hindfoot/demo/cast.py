"""The demo clinic's fixed cast: organisation, locations, practitioners, weekly availability.

Everything here is fictional. Telephone numbers are in Ofcom's ranges reserved for drama
(020 7946 0xxx, 07700 900xxx) and e-mail domains are reserved (.local, example.com).
"""

from __future__ import annotations

from datetime import time

DEMO_PASSWORD = "hindfoot-demo"
DEMO_EMAIL_DOMAIN = "demo.hindfoot.local"

ORGANIZATION = {
    "name": "Hindfoot Demo Clinic",
    "phone": "020 7946 0100",
    "email": f"reception@{DEMO_EMAIL_DOMAIN}",
    "website": "https://demo.hindfoot.local",
    "timezone": "Europe/London",
}

# key -> Location fields
LOCATIONS: dict[str, dict[str, str]] = {
    "marylebone": {
        "name": "Marylebone Foot & Ankle Rooms",
        "address_line": "18 Weymouth Mews",
        "city": "London",
        "postcode": "W1G 7EQ",
        "phone": "020 7946 0110",
        "description": "Consulting rooms, physiotherapy gym and on-site X-ray. Nearest station: Regent's Park.",
    },
    "city": {
        "name": "City Sports Injury Centre",
        "address_line": "4 Cloth Fair Court, Smithfield",
        "city": "London",
        "postcode": "EC1A 7JQ",
        "phone": "020 7946 0120",
        "description": "Sports medicine clinic with a rehabilitation gym and anti-gravity treadmill. Nearest station: Barbican.",
    },
    "fitzrovia": {
        "name": "Fitzrovia Day Surgery & Imaging",
        "address_line": "60 Cleveland Mews",
        "city": "London",
        "postcode": "W1T 4PL",
        "phone": "020 7946 0130",
        "description": "Day-case theatres, MRI, CT and ultrasound, image-guided injections and nurse-led dressing clinic. Nearest station: Warren Street.",
    },
}


def _r(location: str, weekday: int, start: str, end: str, *services: str) -> dict[str, object]:
    h1, m1 = map(int, start.split(":"))
    h2, m2 = map(int, end.split(":"))
    return {"location": location, "weekday": weekday, "start": time(h1, m1), "end": time(h2, m2),
            "services": list(services)}


# key -> Practitioner fields plus account e-mail and weekly availability (0 = Monday, local time).
PRACTITIONERS: dict[str, dict[str, object]] = {
    "whitlock": {
        "prefix": "Mr", "given_name": "Adrian", "family_name": "Whitlock", "role": "surgeon",
        "qualification": "MBBS FRCS (Tr&Orth), consultant foot and ankle surgeon",
        "account": "surgeon", "description": "Foot and ankle surgeon: clinic lists, theatre, consent",
        "rules": [
            _r("marylebone", 0, "09:00", "13:00", "new_consultation", "follow_up"),
            _r("fitzrovia", 2, "08:00", "17:00", "day_case_surgery"),
            _r("city", 3, "13:00", "18:00", "new_consultation", "follow_up"),
        ],
    },
    "raman": {
        "prefix": "Ms", "given_name": "Priya", "family_name": "Raman", "role": "surgeon",
        "qualification": "MBChB FRCS (Tr&Orth), consultant foot and ankle surgeon, dance medicine",
        "account": "surgeon2", "description": "Second foot and ankle surgeon",
        "rules": [
            _r("city", 1, "09:00", "13:00", "new_consultation", "follow_up"),
            _r("fitzrovia", 3, "08:00", "17:00", "day_case_surgery"),
            _r("marylebone", 4, "09:00", "13:00", "new_consultation", "follow_up"),
        ],
    },
    "okafor": {
        "prefix": "Dr", "given_name": "Daniel", "family_name": "Okafor", "role": "sports_physician",
        "qualification": "MBBS MSc FFSEM, consultant in sport and exercise medicine",
        "account": "sportsmed", "description": "Sports physician: assessment and conservative care",
        "rules": [
            _r("city", 0, "13:00", "18:00", "new_consultation", "follow_up"),
            _r("marylebone", 2, "09:00", "17:00", "new_consultation", "follow_up"),
            _r("city", 4, "09:00", "13:00", "new_consultation", "follow_up", "telephone"),
        ],
    },
    "ellis": {
        "prefix": "", "given_name": "Hannah", "family_name": "Ellis", "role": "physiotherapist",
        "qualification": "BSc MCSP, clinical lead physiotherapist (dance)",
        "account": "physio", "description": "Physiotherapist: rehabilitation and recovery plans",
        "rules": [
            _r("marylebone", 0, "08:00", "16:00", "physiotherapy"),
            _r("marylebone", 1, "08:00", "16:00", "physiotherapy"),
            _r("marylebone", 2, "08:00", "16:00", "physiotherapy"),
            _r("city", 3, "12:00", "20:00", "physiotherapy"),
        ],
    },
    "boateng": {
        "prefix": "", "given_name": "Marcus", "family_name": "Boateng", "role": "physiotherapist",
        "qualification": "MSc MCSP, sports physiotherapist",
        "account": "physio2", "description": "Second physiotherapist",
        "rules": [
            _r("city", 1, "08:00", "16:00", "physiotherapy"),
            _r("city", 3, "08:00", "12:00", "physiotherapy"),
            _r("city", 4, "08:00", "16:00", "physiotherapy"),
            _r("marylebone", 5, "09:00", "13:00", "physiotherapy"),
        ],
    },
    "oneill": {
        "prefix": "", "given_name": "Grace", "family_name": "O'Neill", "role": "nurse",
        "qualification": "RGN, orthopaedic nurse practitioner",
        "account": "nurse", "description": "Nurse: wound care and dressing visits after surgery",
        "rules": [_r("fitzrovia", d, "08:00", "16:00", "nurse_dressing") for d in range(5)]
        + [_r("fitzrovia", 5, "09:00", "12:00", "nurse_dressing")],
    },
    "lindqvist": {
        "prefix": "Dr", "given_name": "Sofia", "family_name": "Lindqvist", "role": "radiologist",
        "qualification": "MD FRCR, consultant musculoskeletal radiologist",
        "account": "radiologist", "description": "Radiologist: imaging reports and image-guided injections",
        "rules": [
            _r("fitzrovia", 1, "09:00", "17:00", "imaging", "image_guided_injection"),
            _r("fitzrovia", 3, "09:00", "13:00", "imaging", "image_guided_injection"),
            _r("marylebone", 4, "14:00", "17:00", "imaging"),
        ],
    },
    "aldridge": {
        "prefix": "", "given_name": "Tom", "family_name": "Aldridge", "role": "admin",
        "qualification": "Practice manager",
        "account": "admin", "description": "Clinic administrator: users, schedules, audit log",
        "rules": [],  # not bookable
    },
    "shah": {
        "prefix": "", "given_name": "Priya", "family_name": "Shah", "role": "receptionist",
        "qualification": "",
        "account": "reception",
        "description": "Receptionist: the day's grid, bookings, check-in, contact details, waitlist; no clinical notes",
        "rules": [],  # not bookable
    },
    "okoye": {
        "prefix": "", "given_name": "Daniel", "family_name": "Okoye", "role": "manager",
        "qualification": "Operations manager",
        "account": "manager", "description": "Clinic manager: registry, reports, staff and rota; no clinical notes",
        "rules": [],  # not bookable
    },
}

# Leave and closures: (practitioner key or None, location key or None, first day offset, last day offset, reason)
EXCEPTIONS: list[tuple[str | None, str | None, int, int, str]] = [
    ("raman", None, 12, 18, "Annual leave"),
    ("ellis", None, 30, 31, "Conference: dance medicine (IADMS)"),
    (None, "city", 23, 23, "Clinic closed: building maintenance"),
]

# Given names by sex and family names for the generated patients (common UK names).
FEMALE_NAMES = [
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Rosie", "Sophia", "Grace",
    "Freya", "Willow", "Evie", "Florence", "Poppy", "Ella", "Harriet", "Imogen", "Chloe", "Niamh",
    "Aisha", "Zara", "Priyanka", "Megan", "Eleanor", "Charlotte", "Sian", "Rhiannon", "Kemi",
]
MALE_NAMES = [
    "Oliver", "George", "Noah", "Arthur", "Leo", "Harry", "Oscar", "Archie", "Henry", "Jack",
    "Theo", "Freddie", "Alfie", "Charlie", "Thomas", "James", "Callum", "Rhys", "Kieran", "Joshua",
    "Samuel", "Ethan", "Mohammed", "Kwame", "Aarav", "Owen", "Lewis", "Finlay", "Declan", "Tobias",
]
FAMILY_NAMES = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Thomas", "Clarke",
    "Jackson", "Wood", "Harris", "Edwards", "Turner", "Martin", "Cooper", "Hill", "Ward", "Hughes",
    "Moore", "Clark", "King", "Harrison", "Lewis", "Baker", "Lee", "Allen", "Morris", "Khan",
    "Scott", "Watson", "Davis", "Parker", "James", "Bennett", "Young", "Phillips", "Richardson", "Mitchell",
    "Bailey", "Carter", "Cook", "Singh", "Shaw", "Bell", "Collins", "Morgan", "Kelly", "Begum",
    "Murphy", "Adeyemi", "Okonkwo", "Campbell", "Stewart", "Fraser", "MacDonald", "Nowak", "Kowalski", "Ahmed",
]

# Sport -> (age range, share female, levels to draw from)
SPORT_PROFILES: dict[str, tuple[tuple[int, int], float, list[str]]] = {
    "ballet": ((16, 32), 0.8, ["professional", "professional", "competitive", "recreational"]),
    "contemporary_dance": ((18, 34), 0.7, ["professional", "competitive", "recreational"]),
    "football": ((17, 34), 0.25, ["professional", "competitive", "competitive", "recreational"]),
    "cricket_fast_bowling": ((18, 33), 0.15, ["professional", "competitive"]),
    "gymnastics": ((14, 22), 0.7, ["competitive", "competitive", "professional"]),
    "running": ((24, 56), 0.5, ["recreational", "competitive"]),
    "rugby": ((19, 33), 0.2, ["professional", "competitive", "recreational"]),
    "tennis": ((20, 45), 0.5, ["recreational", "competitive"]),
    "none": ((28, 62), 0.55, ["recreational"]),
}
