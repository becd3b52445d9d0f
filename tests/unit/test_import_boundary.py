"""The unit-test guards (docs/contributing.md); their machinery is in `conftest.py`.

1. Import boundary: `herald_core` is the pure core and imports no aiokafka, aiohttp or asyncpg,
   checked at run time (every module imported in a fresh interpreter, so the imports of other
   tests cannot hide or fake anything) and statically (every file's `import` statements).
2. Kafka boundary: only `herald_kafka` (libs/herald-kafka) imports aiokafka; every other package
   (services, ops, devstack, runtime, test support) reads and writes Kafka through it and takes
   aiokafka's names from its re-exports. The faust services (derive, alerter) are no exception:
   faust brings aiokafka with it, but their code names only faust and `herald_kafka`. Checked
   statically over every source file of the workspace members. (The tests themselves may still
   build raw aiokafka clients to observe the broker.)
3. No network: connects are refused (tests/unit/conftest.py).
4. Services never import each other: they talk over topics.
5. Libraries never import services: `libs/*` (test support included) depend on no service
   package; what starts a service in a test lives under `tests/` (`tests/support`). Checked
   statically over every source file of `libs/*/src`, function-level and `import_module` imports
   included.
6. Faces never import each other: `herald_api.faces.<x>` uses `model`, `store` and `http` (and
   Herald's own endpoints), never `herald_api.faces.<y>`. Checked statically over every file of
   `services/api/src/herald_api/faces`, function-level and `import_module` imports included.
7. Lower layers never import a face: no module of `herald_api` outside `faces/` (`model`,
   `store`, `http`, `pipes`, `stream`, `native`, …) imports `herald_api.faces`; the faces sit on
   top of them. Only the one list of routes may, `herald_api.routes`. Checked statically over
   every file of `services/api/src/herald_api`, function-level, relative and `import_module`
   imports included.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import socket
from pathlib import Path

import pytest

FORBIDDEN = frozenset({"aiokafka", "aiohttp", "asyncpg"})
CORE_SRC = Path(__file__).resolve().parents[2] / "libs" / "herald-core" / "src"
CORE_PACKAGE = CORE_SRC / "herald_core"


def core_files() -> list[Path]:
    return sorted(CORE_SRC.rglob("*.py"))


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(CORE_SRC).with_suffix("").parts).removesuffix(".__init__")


# --- run time: a fresh interpreter imports every module ---------------------------------------


def test_importing_every_core_module_loads_no_io_package(core_import_probe):
    seen = core_import_probe
    assert seen["io_packages"] == sorted(FORBIDDEN)
    assert Path(seen["origin"]).resolve().is_relative_to(CORE_PACKAGE)
    assert seen["core"] == [], f"herald_core pulled in {seen['core']}"
    # Without the control a broken probe would pass silently.
    assert "asyncpg" in seen["control"]


def test_the_probe_imported_every_core_module(core_import_probe):
    """pkgutil.walk_packages in the probe found every file: none escaped the check."""
    imported = set(core_import_probe["modules"])
    assert imported == {module_name(p) for p in core_files()}
    assert {"herald_core.routing", "herald_core.catalog.aliases"} <= imported


# --- static: no file names a forbidden package in an import ---------------------------------

IMPORTERS = frozenset({"import_module", "__import__"})


@functools.cache
def nodes(source: str) -> tuple[ast.AST, ...]:
    """Every node of a module's syntax tree; each source is parsed once for all the rules."""
    return tuple(ast.walk(ast.parse(source)))


def forbidden_imports(source: str, forbidden: frozenset[str] = FORBIDDEN) -> list[str]:
    """`line: module` for every import of a package of `forbidden` in `source`."""
    if not any(package in source for package in forbidden):
        return []  # an import names its package in the text: nothing to parse
    found = []
    for node in nodes(source):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if called in IMPORTERS and isinstance(first, ast.Constant):
                names = [str(first.value)]
        found += [f"{node.lineno}: {n}" for n in names if n.split(".")[0] in forbidden]
    return found


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("import aiokafka", True),
        ("import aiokafka.admin as admin", True),
        ("from aiohttp import web", True),
        ("from aiohttp.web import Application", True),
        ("import os, asyncpg", True),
        ("def f():\n    import asyncpg\n", True),
        ("import importlib\nimportlib.import_module('aiokafka.errors')", True),
        ("__import__('aiohttp')", True),
        ("import aiohttp_retry", False),
        ("import asyncpgx", False),
        ("from . import aiohttp", False),
        ("from herald_core import topics", False),
        ("'import aiokafka'", False),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_static_check_recognises_imports(source, flagged):
    assert bool(forbidden_imports(source)) is flagged


@pytest.mark.parametrize(
    "path", core_files(), ids=lambda p: str(p.relative_to(CORE_SRC)) if p else "?"
)
def test_core_file_imports_no_io_package(path):
    assert forbidden_imports(path.read_text()) == []


# --- the Kafka boundary: aiokafka only inside herald_kafka --------------------------------

ROOT = Path(__file__).resolve().parents[2]
KAFKA_OWNER = Path("libs", "herald-kafka", "src")


def member_sources(root: Path) -> list[Path]:
    """Every source file of every workspace member (services/*/src, libs/*/src), relative."""
    found = (
        p for pattern in ("services/*/src", "libs/*/src") for p in root.glob(f"{pattern}/**/*.py")
    )
    return sorted(path.relative_to(root) for path in found)


def aiokafka_importers(root: Path) -> dict[str, list[str]]:
    """Member files outside `herald_kafka` that import aiokafka, with each `line: module`."""
    found: dict[str, list[str]] = {}
    for path in member_sources(root):
        if path.is_relative_to(KAFKA_OWNER):
            continue
        hits = forbidden_imports((root / path).read_text(), frozenset({"aiokafka"}))
        if hits:
            found[str(path)] = hits
    return found


def test_only_herald_kafka_imports_aiokafka():
    names = {str(p) for p in member_sources(ROOT)}
    # The scan must see files that used to import aiokafka, or it proves nothing.
    assert {
        "services/api/src/herald_api/stream/stream_api.py",
        "libs/herald-ops/src/herald_ops/replay.py",
        "libs/herald-testing/src/herald_testing/topics.py",
        "services/derive/src/herald_derive/app.py",
        "libs/herald-kafka/src/herald_kafka/reader.py",
    } <= names
    assert aiokafka_importers(ROOT) == {}


def test_the_kafka_boundary_flags_only_imports_outside_herald_kafka(tmp_path):
    planted = {
        "libs/herald-kafka/src/herald_kafka/ok.py": "from aiokafka import TopicPartition\n",
        "services/alerter/src/herald_alerter/bad.py": "import faust\nimport aiokafka.errors\n",
        "libs/herald-ops/src/herald_ops/fine.py": "from herald_kafka import KafkaError\n",
        "tests/integration/free.py": "import aiokafka\n",
    }
    for name, text in planted.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert aiokafka_importers(tmp_path) == {
        "services/alerter/src/herald_alerter/bad.py": ["2: aiokafka.errors"]
    }


# --- the no-network fixture ----------------------------------------------------------------


def attempt(how, family, host):
    if how == "create_connection":
        return socket.create_connection((host, 9), timeout=1)
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        return getattr(sock, how)((host, 9))


@pytest.mark.parametrize(
    ("how", "family", "host"),
    [
        ("create_connection", socket.AF_INET, "127.0.0.1"),
        ("connect", socket.AF_INET, "127.0.0.1"),
        ("connect", socket.AF_INET6, "::1"),
        ("connect_ex", socket.AF_INET, "127.0.0.1"),
    ],
    ids=["create_connection", "connect-v4", "connect-v6", "connect_ex"],
)
def test_connecting_is_refused(no_network, how, family, host):
    with pytest.raises(RuntimeError, match="must not open network connections"):
        attempt(how, family, host)
    assert len(no_network) == 1
    no_network.clear()  # the attempt was this test's point; do not fail it at teardown


async def test_asyncio_connections_are_refused(no_network):
    with pytest.raises(RuntimeError, match="must not open network connections"):
        await asyncio.open_connection("127.0.0.1", 9)
    assert no_network
    no_network.clear()


def test_socketpair_still_works():
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"ping")
        assert right.recv(4) == b"ping"


# --- services never import each other: they talk over topics --------------------------------

SERVICES = Path(__file__).resolve().parents[2] / "services"


def service_packages() -> dict[str, Path]:
    """`herald_<name>` → its source folder, for every service of the workspace."""
    return {
        src.name: src
        for src in sorted(SERVICES.glob("*/src/herald_*"))
        if src.is_dir() and (src / "__init__.py").exists()
    }


def imported_modules(source: str) -> list[str]:
    """Every absolute module `source` imports (plain and `from` imports, any depth)."""
    found = []
    for node in nodes(source):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
    return found


def test_every_service_is_found():
    assert {"herald_api", "herald_recorder", "herald_router", "herald_sender"} <= set(
        service_packages()
    )


@pytest.mark.parametrize("package", sorted(service_packages()))
def test_a_service_imports_no_other_service(package):
    others = set(service_packages()) - {package}
    sources = {path: path.read_text() for path in sorted(service_packages()[package].rglob("*.py"))}
    crossings = [
        f"{path.relative_to(SERVICES)}: {module}"
        for path, source in sources.items()
        if any(other in source for other in others)  # an import names it in the text
        for module in imported_modules(source)
        if module.split(".")[0] in others
    ]
    assert crossings == [], "services talk over topics, never through each other's code"


def test_the_service_rule_sees_a_crossing():
    assert imported_modules("from herald_api.app import ApiService\nimport herald_router") == [
        "herald_api.app",
        "herald_router",
    ]


# --- libraries never import services: a library that needs a service is a service's test --------

LIBRARY_SOURCES = "libs/*/src/**/*.py"
SERVICE_NAMES = frozenset(
    {
        "herald_api",
        "herald_ingest",
        "herald_router",
        "herald_sender",
        "herald_recorder",
        "herald_derive",
        "herald_alerter",
    }
)


def service_importers(root: Path) -> dict[str, list[str]]:
    """Library files (`libs/*/src`) that import a service package, with each `line: module`."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.glob(LIBRARY_SOURCES)):
        hits = forbidden_imports(path.read_text(), SERVICE_NAMES)
        if hits:
            found[str(path.relative_to(root))] = hits
    return found


def test_the_library_rule_knows_every_service():
    assert set(service_packages()) == SERVICE_NAMES


def test_no_library_imports_a_service():
    scanned = {str(p.relative_to(ROOT)) for p in ROOT.glob(LIBRARY_SOURCES)}
    # The scan must see every library, herald_testing.fixtures (which used to start the API)
    # among them, or it proves nothing.
    assert {
        "libs/herald-testing/src/herald_testing/fixtures.py",
        "libs/herald-devstack/src/herald_devstack/processes.py",
        "libs/herald-kafka/src/herald_kafka/reader.py",
        "libs/herald-ops/src/herald_ops/replay.py",
    } <= scanned
    assert service_importers(ROOT) == {}, "libraries never import services (tests/support may)"


def test_the_library_rule_flags_only_service_imports_in_libraries(tmp_path):
    planted = {
        "libs/herald-testing/src/herald_testing/bad.py": (
            "import herald_core\nfrom herald_sender.app import SenderService\n"
        ),
        "libs/herald-ops/src/herald_ops/late.py": "def f():\n    import herald_api.app\n",
        "libs/herald-kafka/src/herald_kafka/ok.py": "from herald_core.topics import EVENTS\n",
        "services/router/src/herald_router/fine.py": "from herald_kafka import Record\n",
        "tests/support/free.py": "from herald_ingest.app import IngestService\n",
    }
    for name, text in planted.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert service_importers(tmp_path) == {
        "libs/herald-ops/src/herald_ops/late.py": ["2: herald_api.app"],
        "libs/herald-testing/src/herald_testing/bad.py": ["2: herald_sender.app"],
    }


# --- faces never import each other: each speaks its platform over model, store and http ----------

API_SRC = SERVICES / "api" / "src"
FACES = Path("herald_api", "faces")


def face_crossings(src: Path) -> dict[str, list[str]]:
    """Face files (`herald_api/faces/<x>/…`) that import another face, with each `line: module`."""
    found: dict[str, list[str]] = {}
    for path in sorted((src / FACES).glob("*/**/*.py")):
        face = path.relative_to(src / FACES).parts[0]
        others = frozenset(
            f"herald_api.faces.{d.name}" for d in (src / FACES).iterdir() if d.is_dir()
        ) - {f"herald_api.faces.{face}"}
        source = path.read_text()
        hits = [
            hit
            for hit in forbidden_imports(source, frozenset({"herald_api"}))
            if any(
                hit.split(": ")[1] == o or hit.split(": ")[1].startswith(o + ".") for o in others
            )
        ]
        for node in nodes(source):  # `from herald_api.faces import <y>`
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                hits += [
                    f"{node.lineno}: {node.module}.{alias.name}"
                    for alias in node.names
                    if f"{node.module}.{alias.name}" in others
                ]
        if hits:
            found[str(path.relative_to(src))] = hits
    return found


def test_every_face_is_scanned():
    faces = {d.name for d in (API_SRC / FACES).iterdir() if (d / "__init__.py").exists()}
    assert faces == {"scalingo", "clevercloud", "convox", "cloud66"}


def test_no_face_imports_another_face():
    assert face_crossings(API_SRC) == {}, "faces use model, store and http, never another face"


def test_the_face_rule_flags_only_imports_of_another_face(tmp_path):
    planted = {
        "herald_api/faces/scalingo/bad.py": (
            "from herald_api.faces.scalingo.alert_face import x\n"
            "from herald_api.faces.clevercloud.clevercloud_face import FACE\n"
        ),
        "herald_api/faces/convox/late.py": "def f():\n    import herald_api.faces.cloud66\n",
        "herald_api/faces/cloud66/pkg.py": "from herald_api.faces import convox\n",
        "herald_api/faces/clevercloud/fine.py": (
            "from herald_api.model.type_data import check_type_data\n"
            "from herald_api.store import notifier_store\n"
            "from herald_api.http.web import json_response\n"
        ),
        "herald_api/native/free.py": "from herald_api.faces.scalingo.app_resource import x\n",
    }
    for name, text in planted.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert face_crossings(tmp_path) == {
        "herald_api/faces/cloud66/pkg.py": ["1: herald_api.faces.convox"],
        "herald_api/faces/convox/late.py": ["2: herald_api.faces.cloud66"],
        "herald_api/faces/scalingo/bad.py": ["2: herald_api.faces.clevercloud.clevercloud_face"],
    }


# --- lower layers never import a face: the faces sit on top of everything else ---------------

FACES_PACKAGE = "herald_api.faces"
# The one list of routes gathers each face's declarations: it alone may import the faces.
ROUTE_DECLARERS = frozenset({"herald_api.routes"})


def may_import_faces(module: str) -> bool:
    return module in ROUTE_DECLARERS


def is_face(module: str) -> bool:
    return module == FACES_PACKAGE or module.startswith(FACES_PACKAGE + ".")


def face_imports(source: str, package: list[str]) -> list[str]:
    """`line: module` for every import of a face in `source`, a module of `package` (relative
    imports resolved against it; `from herald_api import faces` counts)."""
    found: list[str] = []
    for node in nodes(source):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *filter(None, [base])])
            children = [f"{base}.{alias.name}" for alias in node.names]
            names = [base] if is_face(base) else children
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if called in IMPORTERS and isinstance(first, ast.Constant):
                names = [str(first.value)]
        found += [f"{node.lineno}: {name}" for name in names if is_face(name)]
    return found


def lower_layer_face_imports(src: Path) -> dict[str, list[str]]:
    """Files of `herald_api` outside `faces/` that import a face, but the route declarers."""
    found: dict[str, list[str]] = {}
    for path in sorted((src / "herald_api").rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        if path.is_relative_to(src / FACES):
            continue
        module = ".".join(parts).removesuffix(".__init__")
        if may_import_faces(module):
            continue
        # A module's package, or a package's own `__init__`: what `.` means in either.
        hits = face_imports(path.read_text(), list(parts[:-1]))
        if hits:
            found[str(path.relative_to(src))] = hits
    return found


def test_no_lower_layer_imports_a_face():
    scanned = {str(p.relative_to(API_SRC)) for p in (API_SRC / "herald_api").rglob("*.py")}
    # The scan must see the modules that used to import a face, or it proves nothing.
    assert {
        "herald_api/store/clevercloud_store.py",
        "herald_api/store/alert_store.py",
        "herald_api/model/account_defaults.py",
        "herald_api/native/notifier_secrets_api.py",
        "herald_api/native/notifier_health_api.py",
        "herald_api/stream/stream_api.py",
        "herald_api/pipes/relay.py",
    } <= scanned
    assert lower_layer_face_imports(API_SRC) == {}, (
        "model, store, http, pipes, stream and native never import a face: move what they need"
        " into model (or http), and let the face import it from there"
    )


def test_the_layer_rule_flags_face_imports_outside_faces_but_in_route_declarers(tmp_path):
    face = "from herald_api.faces.scalingo import notifiers_api\n"
    planted = {
        "herald_api/store/bad.py": "from herald_api.faces.scalingo.alert_face import x\n",
        "herald_api/native/late.py": "def f():\n    import herald_api.faces.clevercloud\n",
        "herald_api/model/pkg.py": "import os\nfrom herald_api import faces, model\n",
        "herald_api/pipes/dyn.py": (
            "import importlib\nimportlib.import_module('herald_api.faces.convox.convox_face')\n"
        ),
        "herald_api/stream/rel.py": "from ..faces.cloud66 import account_notifications\n",
        "herald_api/http/__init__.py": "from .. import faces\n",
        "herald_api/http/routes_helper.py": face,
        "herald_api/native/routes.py": face,  # only the one list of routes is a declarer
        "herald_api/http/fine.py": (
            "from herald_api.model.hooks import FACE\nfrom herald_api.facesx import y\n"
            "from . import web\nimport herald_api.routes\n"
        ),
        "herald_api/routes.py": face,
        "herald_api/faces/scalingo/own.py": "from herald_api.faces.scalingo import app_resource\n",
    }
    for name, text in planted.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert lower_layer_face_imports(tmp_path) == {
        "herald_api/http/__init__.py": ["1: herald_api.faces"],
        "herald_api/http/routes_helper.py": ["1: herald_api.faces.scalingo"],
        "herald_api/model/pkg.py": ["2: herald_api.faces"],
        "herald_api/native/late.py": ["2: herald_api.faces.clevercloud"],
        "herald_api/native/routes.py": ["1: herald_api.faces.scalingo"],
        "herald_api/pipes/dyn.py": ["2: herald_api.faces.convox.convox_face"],
        "herald_api/store/bad.py": ["1: herald_api.faces.scalingo.alert_face"],
        "herald_api/stream/rel.py": ["1: herald_api.faces.cloud66"],
    }
