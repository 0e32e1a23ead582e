"""Members' blocks and mutes of other actors, and other servers' blocks of our members."""
