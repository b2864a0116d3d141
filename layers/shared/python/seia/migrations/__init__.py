"""Numbered SQL migrations: ``admin/NNNN_name.sql`` and ``tenant/NNNN_name.sql``."""
