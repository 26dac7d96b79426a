"""The console script end to end: the demo service as the README starts it, and training."""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.cli import DEMO_KEY
from bench.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
FORECALL = str(Path(sys.executable).with_name("forecall"))


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "FORECALL_STORE": f"sqlite:///{tmp_path}/demo.db",
        "FORECALL_DEMO_CUSTOMERS": "300",
    }
    env.pop("FORECALL_ADMIN_KEY", None)
    process = subprocess.Popen(
        [FORECALL, "serve", "--demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stderr:
            process.stderr.close()


@pytest.mark.slow
def test_demo_serves_a_population_within_a_minute(demo: str) -> None:
    headers = {"Authorization": f"Bearer {DEMO_KEY}"}
    from models.simulator import SimulatorConfig, simulate

    # The demo's world ends "now", so ask the same simulator for the first customer's phone.
    first = simulate(SimulatorConfig(customers=300, seed=7)).customers[0]
    phone = next(i["value"] for i in first["identities"] if i["kind"] == "phone")
    found = httpx.get(f"{demo}/v1/identify", params={"phone": phone}, headers=headers)
    assert found.status_code == 200, found.text
    customer_id = found.json()["customer_id"]
    profile = httpx.get(f"{demo}/v1/customers/{customer_id}/profile", headers=headers).json()
    assert profile["known"] is True
    assert profile["activity"], "the demo population has events"
    assert httpx.get(f"{demo}/v1/customers/{customer_id}").status_code == 401


@pytest.mark.slow
def test_the_demo_starts_with_outbound_history_and_an_outage_notified_in_the_sandbox(
    demo: str,
) -> None:
    headers = {"Authorization": f"Bearer {DEMO_KEY}"}
    report = httpx.get(f"{demo}/v1/scenarios/report", headers=headers).json()
    sent = {row["scenario"]: row["sent"] for row in report}
    assert sum(1 for n in sent.values() if n) >= 4, sent  # weeks of follow-ups behind it
    assert any(row["delivered"] and row["read"] and row["replied"] for row in report), report
    deadline = time.monotonic() + 20  # the embedded dispatcher sends the outage notices
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = httpx.get(f"{demo}/v1/incidents/DEMO-1", headers=headers).json()["counts"]
        if counts["notified"]:
            break
        time.sleep(0.5)
    assert counts["affected"] > 0 and counts["notified"] > 0, counts
    # Delivered to the sandbox inbox, which the console shows.
    login = httpx.post(
        f"{demo}/console/api/session", json={"key": DEMO_KEY}, headers={"X-Forecall": "1"}
    )
    inbox = httpx.get(f"{demo}/console/api/sandbox", cookies=login.cookies).json()
    assert any("Нет интернета в Москве" in m["text"] for m in inbox), inbox[:3]


@pytest.mark.slow
def test_forecall_train_from_the_console(tmp_path: Path) -> None:
    rnd = random.Random(1)
    data = tmp_path / "churn.csv"
    with data.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["customer_id", "tenure", "plan", "left"])
        for i in range(400):
            tenure = rnd.randint(1, 60)
            writer.writerow(
                [
                    f"id{i}",
                    tenure,
                    rnd.choice(["a", "b"]),
                    "yes" if rnd.random() < 1 / (1 + tenure / 6) else "no",
                ]
            )
    done = subprocess.run(
        [
            FORECALL,
            "train",
            "churn",
            "--data",
            str(data),
            "--label",
            "left",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "roc_auc" in done.stdout.lower() or "roc-auc" in done.stdout.lower()
    assert (tmp_path / "out" / "churn.onnx").is_file()
    bad = subprocess.run(
        [FORECALL, "train", "churn", "--data", str(data), "--label", "gone"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "gone" in bad.stderr


def test_forecall_check_lints_a_catalogue_from_the_console(tmp_path: Path) -> None:
    builtin = ROOT / "predictors" / "builtin" / "actions.yaml"
    clean = subprocess.run(
        [FORECALL, "check", str(builtin)], capture_output=True, text=True, timeout=60
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 error(s)" in clean.stderr
    broken = tmp_path / "actions.yaml"
    broken.write_text(
        builtin.read_text(encoding="utf-8").replace("when:", "wehn:", 1), encoding="utf-8"
    )
    found = subprocess.run(
        [FORECALL, "check", str(broken)], capture_output=True, text=True, timeout=60
    )
    assert found.returncode == 1
    assert f"{broken}:" in found.stdout and "error" in found.stdout


def test_forecall_check_lints_scenarios_too(tmp_path: Path) -> None:
    builtin = ROOT / "predictors" / "builtin" / "scenarios.yaml"
    clean = subprocess.run([FORECALL, "check", str(builtin)], capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    broken = tmp_path / "scenarios.yaml"
    broken.write_text(
        builtin.read_text(encoding="utf-8")
        .replace("trigger: cart_abandoned", "trigger: cart_abandonned", 1)
        .replace("{{ order_id }} доставлен", "{{ order_nr }} доставлен", 1),
        encoding="utf-8",
    )
    found = subprocess.run([FORECALL, "check", str(broken)], capture_output=True, text=True)
    assert found.returncode == 1
    assert "scenarios[0].trigger: unknown event type 'cart_abandonned'" in found.stdout
    assert "scenarios[2].text.ru: uses order_nr, which order_delivered does not provide" in (
        found.stdout
    )


def test_forecall_replay_reports_what_follow_ups_would_have_done(tmp_path: Path) -> None:
    from models.simulator.export import write_jsonl
    from models.simulator.world import SimulatorConfig, simulate

    files = write_jsonl(simulate(SimulatorConfig(customers=150, days=21, seed=3)), tmp_path)
    done = subprocess.run(
        [
            FORECALL,
            "replay",
            "--customers",
            str(files["customers.jsonl"]),
            "--events",
            str(files["events.jsonl"]),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[1:]}
    assert set(rows) >= {"abandoned_cart", "order_status", "deposit_maturing", "inactivity"}
    triggers, holdout, would_send = (int(v) for v in rows["order_status"][1:4])
    assert triggers > 0 and holdout == 0 and 0 < would_send <= triggers
    cart = rows["abandoned_cart"]
    assert int(cart[1]) > 0 and "send_window" in " ".join(cart)  # marketing waits for windows
    missing = subprocess.run(
        [FORECALL, "replay", "--customers", "nope.jsonl", "--events", "nope.jsonl"],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "--customers: no file nope.jsonl" in missing.stderr
