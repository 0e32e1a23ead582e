"""Listings: what neighbours give, lend, sell, offer, ask for and share (the marketplace)."""
