"""References: nomination, the reference state machine, signed links, the rating form, reminders."""
