"""Thin Litestar controllers, one module per page family: parse, call one service, pick the template."""
