#!/usr/bin/env python
"""manage.py of the benchmark project; the settings module names the contender."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproject.settings.durin")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
