"""Pure forecasting library: pandas in, pandas out (never imports piccolo or litestar)."""
