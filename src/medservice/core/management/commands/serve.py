"""`medservice serve`: web server, task worker and scheduler in one foreground command.

Ctrl-C (SIGINT) or SIGTERM stops all three and waits for them.
"""

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the UI and API with the background worker and the scheduler."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--workers", default=os.environ.get("WEB_WORKERS", "2"))

    def handle(self, *args: Any, **options: Any) -> None:
        python = sys.executable
        manage = [python, "-m", "medservice"]
        commands = {
            "web": [
                python,
                "-m",
                "gunicorn",
                "medservice.config.wsgi:application",
                "--bind",
                f"{options['host']}:{options['port']}",
                "--workers",
                str(options["workers"]),
                "--threads",
                "4",
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "5",
                # Longer than gunicorn's 2 s: a client (or a proxy) that reuses an idle
                # connection just as the server closes it gets a reset instead of an answer.
                "--keep-alive",
                os.environ.get("WEB_KEEPALIVE", "5"),
            ],
            "scheduler": [*manage, "scheduler"],
        }
        if settings.TASKS["default"]["BACKEND"].startswith("django_tasks_db"):
            commands["worker"] = [*manage, "db_worker", "--interval", "1"]
        elif "rq" in settings.TASKS["default"]["BACKEND"]:
            commands["worker"] = [
                *manage,
                "rqworker",
                "default",
                "--job-class",
                "django_tasks_rq.backend.Job",
            ]
        children = {
            name: subprocess.Popen(command, start_new_session=True)  # noqa: S603  (our own argv)
            for name, command in commands.items()
        }
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        url = f"http://{options['host']}:{options['port']}"
        self.stdout.write(self.style.SUCCESS(f"MedService is serving on {url}  (Ctrl-C stops)"))
        exit_code = 0
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    self.stderr.write(f"{name} exited with {child.returncode}; stopping")
                    stopping, exit_code = True, 1
            time.sleep(0.5)
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        self.stdout.write("MedService stopped")
        sys.exit(exit_code)
