"""Process lifecycle: supervisor of device tasks, command routing, signals, sd_notify, reload."""
