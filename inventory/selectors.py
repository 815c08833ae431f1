"""Read-only queries of the inventory app."""
