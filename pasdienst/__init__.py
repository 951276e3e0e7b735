"""pasdienst: ledger-backed kindpakket service for Dutch municipalities."""

__version__ = "0.1.0"
