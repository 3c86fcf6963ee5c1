"""The revisions, oldest first: v01 … (Alembic reads every module here but this one)."""
