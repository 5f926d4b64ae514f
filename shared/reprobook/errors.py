"""The one exception type that the command line turns into a one-line message and exit status 2."""


class ReprobookError(Exception):
    """A problem the user can fix: bad input, missing data, an absent device, a malformed file."""
