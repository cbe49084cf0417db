#!/usr/bin/env python3
"""Checks the deployment files against each other and against the binary, where no Docker
engine or cluster can run them (`make check-deploy`, part of `make test`):

- the compose file is valid (`docker-compose config`);
- the Kubernetes manifests pass the Kubernetes JSON schemas in strict mode
  (`kubernetes-validate --strict`); the KEDA and Prometheus Operator objects, which have no
  schema there, are checked structurally and against the Deployment, Service, ConfigMap and
  Secret they refer to;
- every kustomization lists files that exist;
- every env var the Dockerfile, the compose file and the manifests set for streamsre is one
  the command it runs reads (from `streamsre <command> --help`);
- every file the compose file mounts and the Dockerfile copies exists;
- the probe paths are routes the binary serves and the probe ports its default metrics port;
- terminationGracePeriodSeconds / stop_grace_period exceed DRAIN_TIMEOUT, and the autoscalers'
  maximum is the topic's partition count.

    scripts/check-deploy.py target/debug/streamsre            # check
    scripts/check-deploy.py target/debug/streamsre --self-test  # and prove each check can fail
"""

import copy
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = Path("deploy/compose/docker-compose.yml")
K8S = Path("deploy/k8s")
# The routes the consumer's HTTP server serves (crates/telemetry/src/http.rs).
HTTP_SRC = Path("crates/telemetry/src/http.rs")
# Debian packages of the shared libraries the binary may link, and the base image's own.
RUNTIME_PACKAGES = {"libssl.so.3": "libssl3", "libcrypto.so.3": "libssl3", "libz.so.1": "zlib1g"}
BASE_LIBS = ("libc.so", "libm.so", "libgcc_s.so", "libpthread.so", "libdl.so", "librt.so")
PARTITIONS = 12  # events.main, as the compose `init` service and the manifests create it


class Checker:
    def __init__(self, root: Path, binary: str):
        self.root = root
        self.binary = binary
        self.problems: list[str] = []
        self._env: dict[tuple, set] = {}

    def fail(self, what: str):
        self.problems.append(what)

    # --- the binary -----------------------------------------------------------------------

    def env_of(self, command: tuple) -> set:
        """Env vars `streamsre <command> --help` says it reads."""
        if command not in self._env:
            out = subprocess.run(
                [self.binary, *command, "--help"], capture_output=True, text=True, check=True
            ).stdout
            self._env[command] = set(re.findall(r"\[env: ([A-Z0-9_]+)", out))
        return self._env[command]

    def default_metrics_port(self) -> int:
        out = subprocess.run(
            [self.binary, "consume", "--help"], capture_output=True, text=True, check=True
        ).stdout
        m = re.search(r"--metrics-addr.*?\[default: [^\]]*:(\d+)\]", out, re.S)
        return int(m.group(1))

    def served_paths(self) -> set:
        return set(re.findall(r'\.route\(\s*"(/[a-z/]*)"', (self.root / HTTP_SRC).read_text()))

    # --- checks ---------------------------------------------------------------------------

    def check_env(self, where: str, command: tuple, names):
        unknown = sorted(set(names) - self.env_of(command))
        for name in unknown:
            self.fail(f"{where}: sets {name}, which `streamsre {' '.join(command)}` does not read")

    def commands_of(self, argv) -> list[tuple]:
        """The streamsre commands a container's command line runs."""
        text = " ".join(argv) if isinstance(argv, list) else str(argv)
        runs = re.findall(r"streamsre ((?:topic create|topic list|[a-z]+))", text)
        if runs:
            return [tuple(r.split()) for r in runs]
        first = text.split()[0] if text.split() else "consume"
        return [(first,)] if first != "topic" else [("topic", text.split()[1])]

    def compose(self):
        path = self.root / COMPOSE
        run = subprocess.run(
            ["docker-compose", "-p", "streamsre", "-f", str(path), "config", "-q"],
            capture_output=True, text=True,
        )
        if run.returncode != 0:
            self.fail(f"{COMPOSE}: docker-compose config: {run.stderr.strip() or run.stdout.strip()}")
        doc = yaml.safe_load(path.read_text())
        port = self.default_metrics_port()
        paths = self.served_paths()
        for name, svc in doc.get("services", {}).items():
            for vol in svc.get("volumes", []):
                source = vol.split(":")[0] if isinstance(vol, str) else vol.get("source", "")
                if source.startswith("."):
                    if not (path.parent / source).exists():
                        self.fail(f"{COMPOSE}: {name} mounts {source}, which does not exist")
            if svc.get("image", "").startswith("streamsre"):
                env = svc.get("environment", {}) or {}
                command = svc.get("command", ["consume"])
                runs = self.commands_of(command)
                readable = set().union(*(self.env_of(c) for c in runs))
                said = " / ".join(f"streamsre {' '.join(c)}" for c in runs)
                for var in sorted(set(env) - readable):
                    self.fail(f"{COMPOSE}: {name} sets {var}, which `{said}` does not read")
                test = " ".join(svc.get("healthcheck", {}).get("test", []))
                for p in re.findall(r"/dev/tcp/[^/]+/(\d+)", test):
                    if int(p) != port:
                        self.fail(f"{COMPOSE}: {name}'s health check asks port {p}, the binary serves {port}")
                for route in re.findall(r"GET (/\S*)", test):
                    if route not in paths:
                        self.fail(f"{COMPOSE}: {name}'s health check asks {route}, not one of {sorted(paths)}")
                if ("consume",) in self.commands_of(command):
                    drain = seconds(env.get("DRAIN_TIMEOUT", "30s"))
                    grace = seconds(svc.get("stop_grace_period", "10s"))
                    if grace <= drain:
                        self.fail(f"{COMPOSE}: {name}: stop_grace_period {grace}s is not above DRAIN_TIMEOUT {drain}s")
                    addr = env.get("METRICS_ADDR", "")
                    if addr and not addr.endswith(f":{port}"):
                        self.fail(f"{COMPOSE}: {name}: METRICS_ADDR {addr} is not the probed port {port}")

    def dockerfile(self):
        text = (self.root / "Dockerfile").read_text()
        for src in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
            for item in src.split():
                if not (self.root / item).exists():
                    self.fail(f"Dockerfile: COPY {item}, which does not exist")
        env = dict(re.findall(r"([A-Z_]+)=(\S+)", " ".join(re.findall(r"^ENV (.+(?:\\\n.+)*)", text, re.M))))
        cmd = re.search(r'^CMD \["([a-z]+)"', text, re.M).group(1)
        self.check_env("Dockerfile ENV", (cmd,), env)
        # The runtime stage installs a package for each shared library the binary links beyond
        # the base image's own (libc, libm, libgcc_s).
        runtime = text.split("FROM debian:bookworm-slim", 1)[-1]
        linked = re.findall(r"^\s*(\S+\.so[.\d]*) =>", subprocess.run(
            ["ldd", self.binary], capture_output=True, text=True, check=True).stdout, re.M)
        for lib in linked:
            package = RUNTIME_PACKAGES.get(lib)
            if package is None and not lib.startswith(BASE_LIBS):
                self.fail(f"Dockerfile: the binary links {lib}, which no known package provides")
            elif package and not re.search(rf"\b{re.escape(package)}\b", runtime):
                self.fail(f"Dockerfile: the binary links {lib}; the runtime stage lacks {package}")
        ignored = (self.root / ".dockerignore").read_text()
        for needed in ("crates", "migrations", "examples"):
            if re.search(rf"^{needed}/?$", ignored, re.M):
                self.fail(f".dockerignore: excludes {needed}/, which the build needs")

    def k8s(self):
        base = self.root / K8S
        docs = {}
        for f in sorted(base.rglob("*.yaml")):
            if f.name == "kustomization.yaml":
                kust = yaml.safe_load(f.read_text())
                for r in kust.get("resources", []):
                    if not (f.parent / r).exists():
                        self.fail(f"{f.relative_to(self.root)}: lists {r}, which does not exist")
                continue
            for d in yaml.safe_load_all(f.read_text()):
                docs[(d["kind"], d["metadata"]["name"])] = (f, d)
        core = sorted({str(f) for (kind, _), (f, d) in docs.items()
                       if "." not in d["apiVersion"].split("/")[0] or d["apiVersion"].startswith(("apps/", "policy/", "autoscaling/"))})
        run = subprocess.run(["kubernetes-validate", "--strict", "--quiet", *core], capture_output=True, text=True)
        if run.returncode != 0:
            self.fail(f"kubernetes-validate --strict: {(run.stdout + run.stderr).strip()}")

        def get(kind, name):
            found = docs.get((kind, name))
            if not found:
                self.fail(f"{K8S}: no {kind} named {name}")
                return {}
            return found[1]

        deploy = get("Deployment", "streamsre")
        config = get("ConfigMap", "streamsre").get("data", {})
        secret = get("Secret", "streamsre").get("stringData", {})
        self.check_env("deploy/k8s ConfigMap", ("consume",), config)
        self.check_env("deploy/k8s Secret", ("consume",), secret)
        pod = deploy.get("spec", {}).get("template", {}).get("spec", {})
        port = self.default_metrics_port()
        paths = self.served_paths()
        if not config.get("METRICS_ADDR", "").endswith(f":{port}"):
            self.fail(f"ConfigMap METRICS_ADDR {config.get('METRICS_ADDR')} is not port {port}")
        for c in pod.get("containers", []):
            ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                http = c.get(probe, {}).get("httpGet")
                if not http:
                    self.fail(f"Deployment: {probe} is missing or not an HTTP probe")
                    continue
                p = ports.get(http["port"], http["port"])
                if p != port:
                    self.fail(f"Deployment: {probe} probes port {p}, the binary serves {port}")
                if http["path"] not in paths:
                    self.fail(f"Deployment: {probe} probes {http['path']}, not one of {sorted(paths)}")
            for ref in c.get("envFrom", []):
                for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    if key in ref:
                        get(kind, ref[key]["name"])
            if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
                self.fail("Deployment: liveness must be /healthz (a dependency outage must not restart the pod)")
            if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
                self.fail("Deployment: readiness must be /readyz")
        drain = seconds(config.get("DRAIN_TIMEOUT", "30s"))
        if pod.get("terminationGracePeriodSeconds", 30) <= drain:
            self.fail(f"Deployment: terminationGracePeriodSeconds is not above DRAIN_TIMEOUT ({drain}s)")
        labels = deploy.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
        service = get("Service", "streamsre")
        if not subset(service.get("spec", {}).get("selector", {}), labels):
            self.fail("Service: its selector does not select the Deployment's pods")
        if not subset(get("PodDisruptionBudget", "streamsre").get("spec", {}).get("selector", {}).get("matchLabels", {}), labels):
            self.fail("PodDisruptionBudget: its selector does not select the Deployment's pods")

        monitor = get("ServiceMonitor", "streamsre")
        if monitor:
            spec = monitor.get("spec", {})
            if monitor.get("apiVersion") != "monitoring.coreos.com/v1":
                self.fail("ServiceMonitor: apiVersion must be monitoring.coreos.com/v1")
            if not subset(spec.get("selector", {}).get("matchLabels", {}), service.get("metadata", {}).get("labels", {})):
                self.fail("ServiceMonitor: its selector does not select the Service")
            names = {p.get("name") for p in service.get("spec", {}).get("ports", [])}
            for e in spec.get("endpoints", []):
                if e.get("port") not in names:
                    self.fail(f"ServiceMonitor: endpoint port {e.get('port')} is not a port of the Service")
                if e.get("path", "/metrics") not in paths:
                    self.fail(f"ServiceMonitor: path {e.get('path')} is not served")

        scaled = get("ScaledObject", "streamsre")
        if scaled:
            spec = scaled.get("spec", {})
            if scaled.get("apiVersion") != "keda.sh/v1alpha1":
                self.fail("ScaledObject: apiVersion must be keda.sh/v1alpha1")
            if spec.get("scaleTargetRef", {}).get("name") != "streamsre":
                self.fail("ScaledObject: scaleTargetRef is not the Deployment")
            if spec.get("maxReplicaCount") != PARTITIONS:
                self.fail(f"ScaledObject: maxReplicaCount {spec.get('maxReplicaCount')} is not the partition count {PARTITIONS}")
            for t in spec.get("triggers", []):
                meta = t.get("metadata", {})
                if t.get("type") != "kafka":
                    self.fail(f"ScaledObject: trigger type {t.get('type')} is not kafka")
                for field, key in (("consumerGroup", "KAFKA_GROUP_ID"), ("topic", "KAFKA_TOPIC"), ("bootstrapServers", "KAFKA_BROKERS")):
                    if meta.get(field) != config.get(key):
                        self.fail(f"ScaledObject: {field} {meta.get(field)} is not the ConfigMap's {key} {config.get(key)}")
                if not str(meta.get("lagThreshold", "")).isdigit():
                    self.fail("ScaledObject: lagThreshold must be a whole number (as a string)")
                auth = t.get("authenticationRef", {}).get("name")
                if auth:
                    ta = get("TriggerAuthentication", auth)
                    for ref in ta.get("spec", {}).get("secretTargetRef", []):
                        if ref.get("name") != "streamsre" or ref.get("key") not in secret:
                            self.fail(f"TriggerAuthentication: {ref} is not a key of the Secret")
        hpa = get("HorizontalPodAutoscaler", "streamsre")
        if hpa:
            spec = hpa.get("spec", {})
            if spec.get("maxReplicas") != PARTITIONS:
                self.fail(f"HorizontalPodAutoscaler: maxReplicas is not the partition count {PARTITIONS}")
            metrics = [m.get("external", {}).get("metric", {}).get("name") for m in spec.get("metrics", [])]
            if metrics != ["consumer_lag_all_partitions"]:
                self.fail(f"HorizontalPodAutoscaler: scales on {metrics}, not consumer_lag_all_partitions")
            exported = subprocess.run(["grep", "-rq", '"consumer_lag_all_partitions"', str(self.root / "crates/telemetry/src")]).returncode == 0
            if not exported:
                self.fail("HorizontalPodAutoscaler: the binary exports no consumer_lag_all_partitions")

    def run(self) -> list[str]:
        self.compose()
        self.dockerfile()
        self.k8s()
        return self.problems


def seconds(text) -> int:
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", str(text).strip())
    n, unit = int(m.group(1)), m.group(2) or "s"
    return {"ms": n // 1000, "s": n, "m": n * 60, "h": n * 3600}[unit]


def subset(small: dict, big: dict) -> bool:
    return bool(small) and all(big.get(k) == v for k, v in small.items())


def self_test(binary: str):
    """Each kind of breakage, made in a copy of the files, must be reported."""

    def broken(edit) -> list[str]:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for item in ("Dockerfile", ".dockerignore", "deploy", "examples", "migrations", "crates/telemetry/src", "Cargo.toml", "Cargo.lock"):
                src = ROOT / item
                (root / item).parent.mkdir(parents=True, exist_ok=True)
                (shutil.copytree if src.is_dir() else shutil.copy)(src, root / item)
            edit(root)
            return Checker(root, binary).run()

    def yaml_edit(path, change):
        def edit(root):
            p = root / path
            docs = list(yaml.safe_load_all(p.read_text()))
            change(docs)
            p.write_text(yaml.safe_dump_all(docs))
        return edit

    cases = {
        "an env var the binary does not read": (
            yaml_edit(COMPOSE, lambda d: d[0]["services"]["consume"]["environment"].update(BATCH_SIZ="10")),
            "sets BATCH_SIZ"),
        "a mounted file that does not exist": (
            lambda root: (root / "deploy/compose/prometheus.yml").unlink(),
            "does not exist"),
        "a probe on a path the binary does not serve": (
            yaml_edit(K8S / "base/deployment.yaml",
                      lambda d: d[0]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"].update(path="/ready")),
            "probes /ready"),
        "a grace period below the drain timeout": (
            yaml_edit(K8S / "base/deployment.yaml",
                      lambda d: d[0]["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=20)),
            "terminationGracePeriodSeconds"),
        "a field Kubernetes does not know": (
            yaml_edit(K8S / "base/deployment.yaml", lambda d: d[0]["spec"].update(replica=3)),
            "kubernetes-validate"),
        "an invalid compose file": (
            yaml_edit(COMPOSE, lambda d: d[0]["services"]["postgres"].update(restart=["always"])),
            "docker-compose config"),
        "more replicas than partitions": (
            yaml_edit(K8S / "keda-scaledobject.yaml", lambda d: d[0]["spec"].update(maxReplicaCount=24)),
            "maxReplicaCount 24"),
        "a runtime stage without a library the binary links": (
            lambda root: (root / "Dockerfile").write_text(
                (root / "Dockerfile").read_text().replace("libssl3 zlib1g", "zlib1g")),
            "lacks libssl3"),
        "a ServiceMonitor on a port the Service lacks": (
            yaml_edit(K8S / "base/servicemonitor.yaml", lambda d: d[0]["spec"]["endpoints"][0].update(port="http")),
            "endpoint port http"),
    }
    failed = []
    for what, (edit, says) in cases.items():
        problems = broken(edit)
        if not any(says in p for p in problems):
            failed.append(f"self-test: {what} was not reported as {says!r}: {problems}")
        else:
            print(f"check-deploy self-test: {what}: reported")
    return failed


def main():
    binary = str(Path(sys.argv[1]).resolve())
    problems = Checker(ROOT, binary).run()
    if "--self-test" in sys.argv and not problems:
        problems = self_test(binary)
    for p in problems:
        print(f"check-deploy: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print("check-deploy: compose, image and Kubernetes manifests agree with each other and with the binary")


if __name__ == "__main__":
    main()
