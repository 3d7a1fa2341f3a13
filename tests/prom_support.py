"""A real Prometheus on loopback scraping a tiny exporter whose series the test controls."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import yaml
from prometheus_client import CollectorRegistry, Gauge, start_http_server

PROMETHEUS = shutil.which("prometheus")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Exporter:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.error_rate = Gauge("warroom_test_error_rate", "error rate %", registry=self.registry)
        self.completion = Gauge(
            "warroom_test_checkout_completion", "checkout completion %", registry=self.registry
        )
        self.port = free_port()
        self.server, self.thread = start_http_server(
            self.port, addr="127.0.0.1", registry=self.registry
        )

    def stop(self) -> None:
        self.server.shutdown()


ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


class Alertmanager:
    """Debian's Alertmanager, sending its webhook to the bot with a bearer token."""

    def __init__(self, workdir: Path, webhook_url: str, token: str) -> None:
        self.port = free_port()
        config = {
            "route": {
                "receiver": "warroom",
                "group_by": ["alertname"],
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [
                {
                    "name": "warroom",
                    "webhook_configs": [
                        {
                            "url": webhook_url,
                            "send_resolved": True,
                            "http_config": {
                                "authorization": {"type": "Bearer", "credentials": token}
                            },
                        }
                    ],
                }
            ],
        }
        (workdir / "alertmanager.yml").write_text(yaml.safe_dump(config))
        self.log = (workdir / "alertmanager.log").open("w")
        self.proc = subprocess.Popen(
            [
                ALERTMANAGER or "alertmanager",
                f"--config.file={workdir / 'alertmanager.yml'}",
                f"--storage.path={workdir / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30) -> None:
        """Started by the constructor, waited for here: Prometheus can start meanwhile."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, "alertmanager exited"
            time.sleep(0.05)
        raise TimeoutError("alertmanager never became ready")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


class Prometheus:
    def __init__(
        self,
        workdir: Path,
        target_port: int,
        rules: str | None = None,
        alertmanager: str | None = None,
    ) -> None:
        self.port = free_port()
        config: dict = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "warroom-test",
                    "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}],
                }
            ],
        }
        if rules:
            (workdir / "rules.yml").write_text(rules)
            config["rule_files"] = [str(workdir / "rules.yml")]
        if alertmanager:
            config["alerting"] = {
                "alertmanagers": [
                    {"static_configs": [{"targets": [alertmanager.removeprefix("http://")]}]}
                ]
            }
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log = (workdir / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [
                PROMETHEUS or "prometheus",
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_for_sample(self, query: str, timeout: float = 40) -> None:
        """Ready is not enough: wait until the first scrape has landed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "prometheus exited"
            try:
                body = httpx.get(
                    f"{self.url}/api/v1/query", params={"query": query}, timeout=2
                ).json()
                if body.get("data", {}).get("result"):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"no sample of {query} from Prometheus")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()
