"""``python -m services.plans.imports FILE [--kind …] [--dsn …]``: see :func:`run_cli`."""

import asyncio
import sys

from services.plans.imports.cli import run_cli

sys.exit(asyncio.run(run_cli()))
