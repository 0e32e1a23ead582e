"""Notices: what managers, landlords and town halls tell every resident (works, outages, events,
urgent warnings), and those received from the municipality a district partners with."""
