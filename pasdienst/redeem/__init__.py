"""Merchants (providers) and, later, redemptions at them."""
