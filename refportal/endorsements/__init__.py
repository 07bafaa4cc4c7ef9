"""Endorsements after the decision: the records, the public registry and its verification pages."""
