"""The `nerflow` command (cli): predict, report."""
