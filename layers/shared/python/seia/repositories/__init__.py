"""Repositories: each takes a connection and holds the SQL of one table family."""
