"""Self-service kiosks: HTTP/WebSocket health and control, Wake-on-LAN to switch them on."""

from __future__ import annotations
