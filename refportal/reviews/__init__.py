"""The reviewer workspace: queue, application file, aggregation, decisions, exports, audit view."""
