"""Outbound mail through the database: written with the change that causes it, sent after."""
