"""The one exception the plugin reports to the user: a one-line message and a non-zero exit, never a traceback."""


class CliError(Exception):
    """Its text is the whole message for the user; `exit_code` is the process exit status."""

    exit_code = 1
