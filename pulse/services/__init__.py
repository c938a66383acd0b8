"""Async services of the pulse app: surveys and rounds, answers, results."""
