"""Membership declarations and, with the reviewer workspace, their verification."""
