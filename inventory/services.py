"""Commands of the inventory app: everything that changes its state."""
