"""Full backup and restore of the database, on SQLite and PostgreSQL alike (``service.py``)."""
