"""hindfoot: care-pathway platform for posterior ankle impingement clinics.

Decision support only: hindfoot advises clinicians and patients; it never makes a diagnosis.
"""

__version__ = "0.1.0"
