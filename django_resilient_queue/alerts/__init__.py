"""Alerts: rows an operator sees in the admin (channels deliver them elsewhere)."""
