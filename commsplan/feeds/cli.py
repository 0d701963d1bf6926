"""Feed commands (none yet): imported by ``init_app`` like every feature's CLI."""
