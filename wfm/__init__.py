"""Triad workforce management: the web service and the workforce domain."""
