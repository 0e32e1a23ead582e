"""Members: invite-only registration, login sessions, profiles and roles."""
