"""Demo follow-ups, visits and surveys (filled in below)."""
