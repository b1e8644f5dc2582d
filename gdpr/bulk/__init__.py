"""Bulk runs and retention: the set-based engine, its parts, the runs' lifecycle and job, retention
policies, their schedule and report."""
