"""Renewals without auto-debit: reminders, one-tap renewal, fair plan switches."""
