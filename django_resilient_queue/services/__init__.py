"""The verbs a person or a command triggers, each one transaction."""
