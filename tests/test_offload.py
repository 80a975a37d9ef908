"""CPU-heavy work runs in worker processes: results and the domain's errors come back; the queue is bounded."""

from __future__ import annotations

import os
import threading

import pytest

from webide.core import offload
from webide.core.errors import BadRequest, ServiceUnavailable
from webide.core.history import HIGHLIGHT_BYTES, render_revision
from webide.core.security import hash_password, verify_password


def refuse(message: str) -> None:
    raise BadRequest(message, problems=[message])


def test_work_runs_in_another_process_and_errors_come_back_whole():
    assert offload.run_cpu_bound(os.getpid) != os.getpid()
    with pytest.raises(BadRequest) as raised:
        offload.run_cpu_bound(refuse, "no such file")
    assert raised.value.message == "no such file" and raised.value.extra == {"problems": ["no such file"]}
    assert raised.value.status == 400


def test_passwords_hash_and_verify_in_worker_processes():
    stored = hash_password("12345")
    assert verify_password(stored, "12345") is True
    assert verify_password(stored, "54321") is False
    assert verify_password(None, "12345") is False


def test_too_many_waiting_calls_get_503(monkeypatch):
    monkeypatch.setattr(offload, "MAX_WAITING", 0)
    with pytest.raises(ServiceUnavailable):
        offload.run_cpu_bound(os.getpid)


def test_calls_from_many_threads_all_complete():
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(offload.run_cpu_bound(os.getpid))) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 12 and os.getpid() not in results
    assert offload._waiting == 0


def test_a_large_revision_is_shown_as_plain_text_with_a_note():
    small = "void setup() {}\nvoid loop() {}\n"
    large = "int x = 1; // <b>\n" * (HIGHLIGHT_BYTES // 18 + 10)
    html = render_revision(
        [{"name": "a.ino", "content": small}, {"name": "big.h", "content": large}, {"name": "c.h", "content": small}]
    )
    assert "Shown without colours" not in html["a.ino"] and '<span class="kt">void</span>' in html["a.ino"]
    assert html["big.h"].startswith('<p class="highlight-note">Shown without colours')
    assert '<span class="kt">' not in html["big.h"] and "&lt;b&gt;" in html["big.h"]
    assert '<span class="kt">void</span>' in html["c.h"], "a small file after a large one is still coloured"
