"""Municipalities (the tenants) and their budgets."""
