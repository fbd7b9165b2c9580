"""Helpers the tests share: credentials, the clock, the database and cache engines, app servers."""
