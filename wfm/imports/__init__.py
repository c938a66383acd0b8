"""Imports: files in the DESIGN.md formats -> validated frames (pure) -> one short write phase.

`spec` names the columns and keys of every kind, `times` turns file timestamps into UTC, `parse`
validates a whole file and reports every problem by row and column, `apply` writes a validated
frame through a staging table with the prior version of every replaced row kept for rollback.
"""
