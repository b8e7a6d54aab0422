"""crisis layer."""
