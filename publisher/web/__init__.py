"""The HTTP side: an app factory and one module of routes per area."""
