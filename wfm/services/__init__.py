"""Async glue between routes and the domain: queries -> pure functions -> view models.

Split by domain: `accounts` (users, passwords, links), `site` (settings, teams, channels),
`audit` (the audit log and its daily summary), `roster` (teams and agents as people see them).
"""
