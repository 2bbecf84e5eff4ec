"""Hidden-test helpers: check students' functions against the reference (instructor-only)."""
