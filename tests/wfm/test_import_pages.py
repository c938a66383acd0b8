"""The import page, the import API and the `wfm import` command, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
from litestar.testing import TestClient

from tests.conftest import run_wfm
from tests.helpers import csrf_token, make_user, on_app_loop, sign_in
from tests.wfm.test_pages import _run_inline
from wfm.settings import Settings
from wfm.tables import Channel, ContactInterval, ImportBatch

GOOD = b"interval_start,channel,offered\n2025-01-07T10:00,voice,5\n2025-01-07T10:15,voice,6\n"
BROKEN = b"interval_start,channel,offered\n2025-01-07T10:00,voice,-5\n2025-01-07T10:15,fax,6\n"


def _channel(client: TestClient[Any]) -> None:
    on_app_loop(client, lambda: Channel.insert(Channel(name="voice", kind="voice")))


def _first_batch(client: TestClient[Any]) -> int:
    row = on_app_loop(client, lambda: ImportBatch.select(ImportBatch.id).order_by(ImportBatch.id).first())
    assert row is not None
    return int(row["id"])


def _upload(client: TestClient[Any], kind: str, data: bytes, name: str = "history.csv") -> Any:
    return client.post(
        "/imports",
        data={"kind": kind, "_csrf_token": csrf_token(client)},
        files={"file": (name, data, "text/csv")},
        follow_redirects=False,
    )


def test_a_lead_imports_sees_problems_and_rolls_back_their_batch(client: TestClient[Any]) -> None:
    _channel(client)
    make_user(client, "lena", "lead")
    sign_in(client, "lena")
    page = client.get("/imports")
    assert page.status_code == 200 and "No imports yet" in page.text
    assert '<option value="history"' in page.text and '<option value="agents"' not in page.text

    refused = _upload(client, "history", BROKEN, "broken.csv")
    assert refused.status_code == 422
    assert "broken.csv was refused: nothing was saved" in refused.text
    assert "row 2, column offered: is below 0 (negative)" in refused.text
    assert "row 3, column channel: is not a known channel (known: voice)" in refused.text

    done = _upload(client, "history", GOOD)
    assert done.status_code == 200 and "2 rows added or changed" in done.text
    again = _upload(client, "history", GOOD)
    assert "0 rows added or changed" in again.text and "everything was already there" in again.text
    assert on_app_loop(client, ContactInterval.count) == 2

    batch_id = _first_batch(client)
    undone = client.post(
        f"/imports/batches/{batch_id + 1}/rollback", data={"_csrf_token": csrf_token(client)}, follow_redirects=False
    )
    assert undone.status_code == 200 and "0 rows restored, 0 removed" in undone.text
    undone = client.post(f"/imports/batches/{batch_id}/rollback", data={"_csrf_token": csrf_token(client)})
    assert "2 rows restored" not in undone.text and "0 rows restored, 2 removed" in undone.text
    assert on_app_loop(client, ContactInterval.count) == 0


def test_kinds_follow_roles_and_others_batches_stay_others(client: TestClient[Any]) -> None:
    _channel(client)
    make_user(client, "root", "admin")
    make_user(client, "lena", "lead")
    make_user(client, "fred", "finance")
    sign_in(client, "root")
    assert _upload(client, "history", GOOD).status_code == 200
    batch_id = _first_batch(client)

    sign_in(client, "fred")
    refused = _upload(client, "history", GOOD)
    assert refused.status_code == 422 and "Choose a kind of file you may import." in refused.text
    assert _upload(client, "finance", b"month,revenue\n2025-01,100\n").status_code == 200

    sign_in(client, "lena")
    assert f"<td>{batch_id}</td>" not in client.get("/imports").text  # the admin's batch is not listed
    denied = client.post(f"/imports/batches/{batch_id}/rollback", data={"_csrf_token": csrf_token(client)})
    assert denied.status_code == 403
    assert on_app_loop(client, ContactInterval.count) == 2


def test_the_api_imports_lists_and_rolls_back(client: TestClient[Any]) -> None:
    _channel(client)
    make_user(client, "root", "admin")
    sign_in(client, "root")
    headers = {"x-csrftoken": csrf_token(client), "content-type": "text/csv"}
    bad = client.post("/api/imports/history?filename=bad.csv", content=BROKEN, headers=headers)
    assert bad.status_code == 422 and bad.json()["error_count"] == 2 and bad.json()["batch_id"] == 0
    good = client.post("/api/imports/history?filename=good.csv", content=GOOD, headers=headers)
    assert good.status_code == 201 and good.json()["changed"] == 2
    listed = client.get("/api/imports").json()
    assert [(b["filename"], b["rows"], b["status"]) for b in listed] == [("good.csv", 2, "applied")]
    batch_id = listed[0]["id"]
    assert client.post(f"/api/imports/batches/{batch_id}/rollback", headers=headers).json()["removed"] == 2
    again = client.post(f"/api/imports/batches/{batch_id}/rollback", headers=headers)
    assert again.status_code == 409 and "already rolled back" in again.json()["detail"]
    assert client.post("/api/imports/nothing", content=GOOD, headers=headers).status_code == 404


def test_a_large_file_imports_as_a_job_with_its_result_page(client: TestClient[Any]) -> None:
    _channel(client)
    make_user(client, "root", "admin")
    sign_in(client, "root")
    # 110 days of quarter hours in UTC: 10,560 rows, over the 10,000 that make an import a job.
    stamps = pd.date_range("2025-01-01", periods=110 * 96, freq="15min", tz="UTC").strftime("%Y-%m-%dT%H:%MZ")
    data = "interval_start,channel,offered\n" + "\n".join(f"{stamp},voice,3" for stamp in stamps)
    started = _upload(client, "history", data.encode(), "quarter.csv")
    assert started.status_code == 302 and started.headers["location"].startswith("/jobs/")
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    assert on_app_loop(client, _run_inline(job_id)) == "succeeded"
    done = client.get(f"/jobs/{job_id}/progress", headers={"HX-Request": "true"})
    assert done.status_code == 286 and "See the import" in done.text
    link = done.text.split('href="', 2)[1].split('"', 1)[0]
    result = client.get(link)
    assert result.status_code == 200 and "10560 rows added or changed" in result.text
    assert on_app_loop(client, ContactInterval.count) == 110 * 96


def test_wfm_import_command(settings: Settings, tmp_path: Path, client: TestClient[Any]) -> None:
    _channel(client)
    env = {**os.environ, "DATABASE_URL": settings.database_url, "TRIAD_DATA_DIR": str(tmp_path)}
    good, broken = tmp_path / "good.csv", tmp_path / "broken.csv"
    good.write_bytes(GOOD + b"")
    broken.write_bytes(BROKEN)
    ok = run_wfm("import", "history", str(good), env=env)
    assert ok.returncode == 0 and "good.csv: 2 rows read, 2 added or changed" in ok.stdout, ok.stderr
    refused = run_wfm("import", "history", str(broken), env=env)
    assert refused.returncode == 1
    assert "broken.csv: row 2, column offered: is below 0 (negative)" in refused.stderr
    assert "nothing was saved" in refused.stderr
    assert on_app_loop(client, ContactInterval.count) == 2
