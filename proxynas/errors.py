"""The one exception type for errors a user can cause (bad input, missing data)."""


class ProxynasError(Exception):
    """A user-facing error: the message says what was wrong and what to do about it."""
