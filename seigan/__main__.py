"""`python -m seigan`: the same as the `seigan` command (seigan/cli.py)."""
import sys

from seigan.cli import main

sys.exit(main())
