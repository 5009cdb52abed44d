"""Simulated devices: an in-memory display and a sensor. Used by the demo and by fault tests."""
