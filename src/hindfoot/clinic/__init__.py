"""The clinic's public content: what it treats and how care is organised."""
