"""Events the notifications app publishes."""
