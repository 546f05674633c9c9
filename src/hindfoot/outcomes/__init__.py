"""Patient-reported outcomes: instruments as data, exact scoring, due dates and survival curves.

Everything in this package is pure (no database, no web): `instruments` parses the shipped
Questionnaire files, `scoring` applies the published scoring manuals, `due` says which
questionnaires are due when, and `survival` estimates time to return to sport.
"""
