"""cenas operator: runs NASSearch resources carbon-aware (kopf)."""
