"""Billing: purchase intents, transactions, settlement and credits."""
