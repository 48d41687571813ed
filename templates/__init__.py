"""Jinja2 templates of the evidence documents (package data)."""
