"""Middleware that enforces what the spec declares beyond validation."""
