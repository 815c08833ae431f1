"""Read-only queries of the subscriptions app."""
