"""Verified neighbours: proofs of residence, vouching, residency credentials."""
