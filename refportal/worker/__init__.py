"""The worker process (`flask --app refportal worker`): the outbox sender and the periodic jobs."""
