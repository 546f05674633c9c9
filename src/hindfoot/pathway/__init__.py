"""The PAI care pathway: where an episode of care stands and what should happen next.

`machine` decides which stage moves are legal; `next_steps` turns an episode snapshot into
ordered, sourced recommendations. Both are pure so the service, API, web and CLI layers can
share them and tests need no database.
"""
