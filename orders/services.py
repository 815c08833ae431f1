"""Commands of the orders app: everything that changes its state."""
