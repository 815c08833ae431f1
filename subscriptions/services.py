"""Commands of the subscriptions app: everything that changes its state."""
