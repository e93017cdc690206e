"""Recorded files: scans of videos and photos, their timeline, report and calibration, and split scans (segments/)."""
