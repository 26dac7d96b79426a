"""Deciding code: pure functions over values, no I/O."""
