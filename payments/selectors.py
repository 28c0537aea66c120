"""Reads of the fee ledger: balances and statuses, computed in the database."""
