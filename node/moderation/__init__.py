"""Reports, moderation decisions, appeals and the audit log, as the node's members and
moderators use them (the records themselves live in :mod:`moderation`)."""
