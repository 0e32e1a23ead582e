"""Problem reports: members tell whoever handles it (this node's managers, or a partner
municipality) that something is broken, and follow it until it is fixed."""
