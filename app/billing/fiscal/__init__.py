"""Fiscal receipts: every sale and every refund fiscalized through a cloud cash register.

A room of billing above ``settle`` (it reads the outbox's money facts and holds a
transaction for review through the status path) and below ``operator``: docs/FISCAL.md.
"""
