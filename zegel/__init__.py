"""Zegel: self-hosted secure e-mail and file exchange."""
