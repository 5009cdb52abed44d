"""The `store` section: outbox size and age limits, group-commit tuning, durability."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StoreSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_size_mb: float = Field(
        default=512, gt=0, description="Outbox size cap; oldest lowest-priority items go first."
    )
    max_age_days: float = Field(
        default=30, gt=0, description="Items older than this are dropped, counted per class."
    )
    commit_interval_ms: float = Field(default=20, ge=0, le=1000, description="Group-commit window.")
    commit_max_items: int = Field(
        default=5000, ge=1, le=100_000, description="Largest batch per transaction."
    )
    keep_sent_hours: float = Field(
        default=24, ge=0, description="How long sent items stay for `events tail`."
    )
    synchronous: Literal["full", "normal"] = Field(
        default="full",
        description="full: an accepted item survives a power cut (one fsync per group commit). "
        "normal: survives a process crash, but a power cut may lose the last commits.",
    )
    max_held_items: int = Field(
        default=100_000,
        ge=1,
        le=10_000_000,
        description="Items kept in memory while the disk refuses writes; beyond it the oldest "
        "lowest-priority ones are dropped and counted.",
    )
    maintenance_interval_s: float = Field(
        default=60, gt=0, le=86400, description="How often aged and long-sent items are pruned."
    )
