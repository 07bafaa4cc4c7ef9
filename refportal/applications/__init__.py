"""Applications: credential and category, fees, eligibility, the one-credential rule, the dashboard."""
