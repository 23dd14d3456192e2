"""The PowerOffice Go emulator in a process of its own: `python -m bench.remote_poweroffice DATA.json PORT`.

PowerOffice Go runs on machines of its own; in the local stack its emulator shares our process and our
two cores. The push figures serve it from here so that what they measure is our side of the exchange.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import uvicorn

from local.emulators.poweroffice import create_app


def main() -> None:
    data = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    app = create_app(data, os.environ["POWEROFFICE_APPLICATION_KEY"], os.environ["POWEROFFICE_SUBSCRIPTION_KEY"])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
