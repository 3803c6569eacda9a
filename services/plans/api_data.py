"""Open-data export and spreadsheet import of the plans service."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["open data"])
