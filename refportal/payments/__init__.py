"""Fees paid: the ledger of what each application and renewal owes (charges) and what settled it
(payments, waivers, refunds), online payment through Stripe Checkout, staff's records and receipts.

A balance is always a sum of rows, never a stored number (docs/payments.md)."""
