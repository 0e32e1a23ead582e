"""Follows between members, local and across nodes: requests, approval, undo."""
