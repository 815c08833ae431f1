"""Events the payments app publishes."""
