"""The local workspace: the real app, an in-process Slack stand-in, a terminal."""
