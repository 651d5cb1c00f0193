import json


def test_list_json_shape(cli, memory_world):
    memory_world.add("r1", "completed", minutes=1)
    memory_world.add("r2", "running", minutes=2)
    r = cli("--backend", "memory", "list", "-o", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [d["runId"] for d in doc["data"]] == ["r2", "r1"]
    assert set(doc) == {"data", "cursor", "hasMore"}
    assert "steps" in doc["data"][0] and doc["data"][0]["createdAt"].endswith("Z")


def test_flags_after_subcommand(cli, memory_world):
    memory_world.add("r1", "completed")
    a = cli("--backend", "memory", "-o", "json", "get", "r1")
    b = cli("get", "r1", "-o", "json", "--backend", "memory")
    assert a.exit_code == b.exit_code == 0
    assert json.loads(a.stdout)["runId"] == json.loads(b.stdout)["runId"] == "r1"
