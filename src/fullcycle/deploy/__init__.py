"""Deployment beyond the HTTP server: streamed batch scoring and deployable packages."""
