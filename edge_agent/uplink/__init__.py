"""MQTT uplink: status and Will, health, store-and-forward sync and remote commands.

The topic contract is in docs/mqtt.md; payload models in `payloads`.
"""

from __future__ import annotations

from .errors import LinkDown, PayloadError, UplinkError
from .link import Connector, Incoming, Link, MqttConnector, Outgoing
from .ports import UplinkStore
from .service import Uplink
from .topics import Topics

__all__ = [
    "Connector",
    "Incoming",
    "Link",
    "LinkDown",
    "MqttConnector",
    "Outgoing",
    "PayloadError",
    "Topics",
    "Uplink",
    "UplinkError",
    "UplinkStore",
]
