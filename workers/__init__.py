"""Dramatiq broker set-up and thin, idempotent actors."""
