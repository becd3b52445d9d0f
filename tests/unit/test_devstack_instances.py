"""Several instances of a service in the local stack: the `--scale` syntax, the names, the port
scheme (instance 1 keeps the service's port, the others a slot of the instance block), and the
CLI's refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from herald_devstack.cli import app
from herald_devstack.free_stack import on_free_ports, port_fields
from herald_devstack.instances import (
    check_scale,
    instance_block_size,
    instance_name,
    instance_port,
    parse_scale,
    split_instance,
)
from herald_devstack.stack import (
    CHAT_CHANNELS,
    CHAT_SENDER,
    SERVICE_NAMES,
    DevSettings,
    Stack,
)
from typer.testing import CliRunner


def test_a_scale_is_read_from_service_equals_count() -> None:
    assert parse_scale("router=2,sender-webhook=3") == {"router": 2, "sender-webhook": 3}
    assert parse_scale(" router = 2 , ") == {"router": 2}
    assert parse_scale("") == {}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("router", "expected <service>=<instances>"),
        ("router=two", "expected <service>=<instances>"),
        ("=2", "expected <service>=<instances>"),
        ("router=2,router=3", "router is scaled twice"),
    ],
)
def test_a_malformed_scale_is_refused(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_scale(text)


@pytest.mark.parametrize(
    ("scale", "says"),
    [
        ({"nope": 2}, r"unknown services \['nope'\]"),
        ({"router": 0}, "router=0: a service runs 1 to 5 instances"),
        ({"router": -1}, "router=-1"),
        ({"router": 6}, "router=6"),
    ],
)
def test_unknown_services_and_counts_out_of_range_are_refused(
    scale: dict[str, int], says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        check_scale(scale, SERVICE_NAMES, 5)


def test_instance_names_go_both_ways() -> None:
    assert instance_name("router", 1) == "router"
    assert instance_name("sender-webhook", 3) == "sender-webhook-3"
    assert split_instance("sender-webhook-3", SERVICE_NAMES) == ("sender-webhook", 3)
    assert split_instance("sender-webhook", SERVICE_NAMES) == ("sender-webhook", 1)
    for bad in ("router-1", "router-0", "router-02", "router-x", "sender", "nope-2"):
        with pytest.raises(KeyError):
            split_instance(bad, SERVICE_NAMES)


def test_the_service_order_of_the_port_scheme_is_the_stacks() -> None:
    assert tuple(spec.name for spec in Stack(DevSettings(home=Path("/d"))).services) == (
        SERVICE_NAMES
    )


def test_no_service_name_looks_like_an_instance_of_another() -> None:
    for name in SERVICE_NAMES:
        assert split_instance(name, SERVICE_NAMES) == (name, 1)
        assert not name.rpartition("-")[2].isdigit()


def test_every_instance_of_every_service_has_its_own_port_in_the_block() -> None:
    settings = DevSettings(home=Path("/d"))
    stack = Stack(settings)
    first = {spec.name: spec.port for spec in stack.services}
    block = range(
        settings.instance_ports_base,
        settings.instance_ports_base + instance_block_size(len(SERVICE_NAMES), 5),
    )
    extra = [stack.instance_port(name, k) for name in SERVICE_NAMES for k in range(2, 6)]
    assert sorted(extra) == list(block)  # each slot used once, none twice
    assert all(stack.instance_port(name, 1) == first[name] for name in SERVICE_NAMES)
    singles = [getattr(settings, n) for n in port_fields()]
    assert not set(block) & set(singles)
    assert (block.start, block.stop - 1) == (18200, 18235)  # as docs/operations.md says


def test_the_port_scheme_is_the_formula() -> None:
    assert instance_port(base=100, service_index=2, instance=3, max_instances=5, first_port=7) == (
        100 + 2 * 4 + 1
    )
    assert instance_port(base=100, service_index=2, instance=1, max_instances=5, first_port=7) == 7
    with pytest.raises(ValueError, match=r"outside 1\.\.5"):
        instance_port(base=100, service_index=0, instance=6, max_instances=5, first_port=7)


def test_an_instance_is_the_service_with_its_own_name_port_and_faust_dir() -> None:
    settings = DevSettings(home=Path("/d"))
    stack = Stack(settings, scale={"router": 2, "derive": 2})
    router = stack.instances("router")
    assert [(s.name, s.instance, s.service) for s in router] == [
        ("router", 1, "router"),
        ("router-2", 2, "router"),
    ]
    assert stack.spec("router-2") == router[1]
    env = router[1].env(settings)
    assert env["HERALD_ROUTER_HTTP__PORT"] == str(stack.instance_port("router", 2))
    assert stack.process("router-2").pid_file == Path("/d/run/router-2.pid")
    derive = [spec.env(settings)["HERALD_DERIVE_DATA_DIR"] for spec in stack.instances("derive")]
    assert derive == ["/d/faust/derive", "/d/faust/derive-2"]
    assert [spec.name for spec in stack.instances("ingest")] == ["ingest"]


def test_a_stack_refuses_a_scale_outside_its_services(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown services"):
        Stack(DevSettings(home=tmp_path), services=["router"], scale={"ingest": 2})
    with pytest.raises(KeyError):
        Stack(DevSettings(home=tmp_path), services=["router"]).spec("ingest-2")
    with pytest.raises(KeyError):
        Stack(DevSettings(home=tmp_path)).spec("router-6")


def test_one_process_sends_every_chat_channel(tmp_path: Path) -> None:
    settings = DevSettings(home=tmp_path)
    stack = Stack(settings, scale={CHAT_SENDER: 2})
    chat = stack.spec(CHAT_SENDER)
    assert chat.argv == (
        "-m",
        "herald_sender",
        "--channel",
        "slack,mattermost,rocketchat,discord,msteams,googlechat,hipchat,flowdock,gitter",
    )
    assert chat.argv[-1].split(",") == [channel.value for channel in CHAT_CHANNELS]
    assert chat.port == settings.sender_chat_port == 18110
    assert [spec.name for spec in stack.instances(CHAT_SENDER)] == ["sender-chat", "sender-chat-2"]
    assert [t.job for t in stack.scrape_targets()].count(CHAT_SENDER) == 2
    senders = [name for name in SERVICE_NAMES if name.startswith("sender-")]
    assert senders == ["sender-webhook", "sender-email", "sender-chat"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"services": ["api", "sender-slack"]},
        {"service_env": {"sender-discord": {}}},
        {"scale": {"sender-msteams": 2}},
        {"scale": {"gitter": 2}},
    ],
)
def test_a_chat_channel_named_as_a_service_points_to_the_chat_sender(
    tmp_path: Path, kwargs: dict[str, object]
) -> None:
    with pytest.raises(ValueError, match="one process, sender-chat: name sender-chat"):
        Stack(DevSettings(home=tmp_path), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scaling it scales them all"):
        Stack(DevSettings(home=tmp_path)).scale_to("sender-slack", 2)


def test_the_scale_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_DEV_SCALE", '{"router": 3}')
    assert Stack(DevSettings(home=Path("/d"))).scale == {"router": 3}
    assert Stack(DevSettings(home=Path("/d")), scale={"router": 2}).scale == {"router": 2}


def test_free_ports_keep_the_instance_block_clear_of_every_other_port(tmp_path: Path) -> None:
    settings = on_free_ports(tmp_path, max_instances=4)
    block = range(
        settings.instance_ports_base,
        settings.instance_ports_base + instance_block_size(len(SERVICE_NAMES), 4),
    )
    singles = {getattr(settings, n) for n in port_fields()}
    assert not set(block) & singles
    stack = Stack(settings)
    every = [stack.instance_port(n, k) for n in SERVICE_NAMES for k in range(1, 5)]
    assert len(set(every)) == len(every)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["up", "--scale", "nope=2"], "unknown services"),
        (["up", "--scale", "router=0"], "router=0"),
        (["up", "--scale", "router"], "expected <service>=<instances>"),
        (["scale", "sender-webhook=9"], "sender-webhook=9"),
        (["scale", "sender-slack=2"], "from one process, sender-chat: name sender-chat"),
        (["up", "--scale", "discord=2"], "from one process, sender-chat"),
    ],
)
def test_the_cli_refuses_a_bad_scale_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], says: str
) -> None:
    monkeypatch.setenv("HERALD_DEV_HOME", str(tmp_path))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert says in " ".join(result.output.split())
    assert not (tmp_path / "kafka").exists()


def test_the_instance_block_is_chosen_below_the_ephemeral_ports(tmp_path: Path) -> None:
    """An instance may start minutes after its port was chosen: a port of the ephemeral range,
    free then, may be the local end of some connection by that time."""
    from herald_devstack.processes import ephemeral_port_range

    low, _ = ephemeral_port_range()
    settings = on_free_ports(tmp_path)
    size = instance_block_size(len(SERVICE_NAMES), settings.max_instances)
    assert settings.instance_ports_base >= 20000
    assert settings.instance_ports_base + size <= low


def test_fault_commands_take_an_instance_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HERALD_DEV_HOME", str(tmp_path))
    known = CliRunner().invoke(app, ["fault", "kill", "router-2"])
    assert known.exit_code == 1
    assert "router-2 is not running" in " ".join(known.output.split())
    unknown = CliRunner().invoke(app, ["fault", "kill", "router-9"])
    assert unknown.exit_code == 1
    assert "unknown component 'router-9'" in " ".join(unknown.output.split())
