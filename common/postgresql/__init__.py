"""Django's PostgreSQL backend with a bounded health check of a kept connection (see ``base``)."""
