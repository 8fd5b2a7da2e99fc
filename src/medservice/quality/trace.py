"""Trace (追溯): every device and delivery line of a model and batch, serial range or UDI."""

from __future__ import annotations
