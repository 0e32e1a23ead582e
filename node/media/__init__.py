"""Uploaded photos: checked by content, stripped of metadata, re-encoded, served with care."""
