"""Anonymous employee pulse surveys: a Piccolo app with its pure eNPS math, services and routes."""
