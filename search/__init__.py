"""Search backends (embedded SQLite FTS5 and Meilisearch) behind one interface.

Built in the search issue; the foundation only reserves the package so the layout,
packaging and Docker image are stable.
"""
