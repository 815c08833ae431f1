"""Events the shipping app publishes."""
