"""Consent: the platform's agreements as the data map names them, withdrawals and objections."""
