"""The local control API: a Unix socket speaking newline-delimited JSON, used by the CLI."""
