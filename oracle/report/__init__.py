"""HTML reports of corpus replays and hunts (`linkharness report`)."""
