"""The durin demo project: see ../README.md."""
