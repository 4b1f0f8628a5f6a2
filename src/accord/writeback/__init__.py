"""CRM write-back: current rows per contact, changed-row tracking, and the shapes each target takes."""
