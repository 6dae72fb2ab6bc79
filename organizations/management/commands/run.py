"""Run the whole product: migrations, daphne, a Celery worker and beat."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from organizations.models import public_url


class Command(BaseCommand):
    help = (
        "Migrate the database, then run daphne on PORT with a Celery worker and "
        "Celery beat until interrupted."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--no-migrate", action="store_true", help="Skip migrations at start."
        )

    def handle(self, *args, **options) -> None:
        if not options["no_migrate"]:
            self.stdout.write("Applying migrations…")
            call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
            call_command("bootstrap", verbosity=0)
            call_command("migrate_schemas", tenant=True, interactive=False, verbosity=0)

        # Children get the resolved service URLs, so they reuse the embedded
        # servers this process found or started.
        env = {
            **os.environ,
            "DATABASE_URL": settings.DATABASE_URL,
            "REDIS_URL": settings.REDIS_URL,
            "PYTHONUNBUFFERED": "1",
        }
        python = sys.executable
        commands = {
            "web": [
                python,
                "-m",
                "daphne",
                "-b",
                settings.BIND_ADDRESS,
                "-p",
                str(settings.PORT),
                "config.asgi:application",
            ],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
            ],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(settings.DATA_DIR / "celerybeat-schedule"),
            ],
        }
        processes = {
            name: subprocess.Popen(command, env=env, cwd=settings.BASE_DIR)
            for name, command in commands.items()
        }
        self.stdout.write(
            self.style.SUCCESS(
                f"Docassist is running on {public_url()} (press Ctrl+C to stop)"
            )
        )
        self._supervise(processes)

    def _supervise(self, processes: dict[str, subprocess.Popen]) -> None:
        stopping = False

        def stop(signum, frame) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    self.stderr.write(f"{name} exited with status {process.returncode}")
                    stopping, exit_code = True, 1
            time.sleep(0.5)
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        sys.exit(exit_code)
