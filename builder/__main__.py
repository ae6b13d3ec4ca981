"""`python -m builder …` — see builder/cli.py."""
from builder.cli import main

raise SystemExit(main())
