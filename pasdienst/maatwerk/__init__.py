"""Maatwerk: awards of a specific amount for a specific purpose by teams of case workers and by funds."""
