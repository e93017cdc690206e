"""Recorded files: video and photo scans, their timeline, report and calibration; split scans (segments/)."""
