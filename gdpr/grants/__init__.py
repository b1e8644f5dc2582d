"""Temporary support access to one subject, approved by the DPO, ending by itself."""
