"""Direct messages between members, here and on other nodes, grouped in conversations."""
