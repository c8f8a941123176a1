"""Database: SQLAlchemy metadata, engine, Alembic migrations and bulk writes."""
