"""Read-only queries of the orders app."""
