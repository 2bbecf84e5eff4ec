"""Instructor-only tools: reference implementations, hidden-test helpers and the grading CLI."""
