"""Runs the functions' `bootstrap`s under AWS's Lambda Runtime Interface Emulator, without Docker.

The emulator (`aws-lambda-rie`) is the program `sam local invoke` runs inside its container; the
SAM CLI ships it in its package (`samcli/local/rapid/`). Run here directly, it starts a bootstrap
on the Lambda Runtime API, takes invocations on
`POST /2015-03-31/functions/function/invocations`, and prints Lambda's own `START`, `END`,
`REPORT` and `INIT REPORT` lines. arm64 bootstraps run under qemu-user.

The function's environment is what `sam local invoke --env-vars FILE` gives it, computed by the
SAM CLI's own code from template.yaml (so only variables the template declares are overridden,
as with SAM), with `host.docker.internal` read as this machine (127.0.0.1). Nothing else of the
caller's environment reaches the function.

Run with the SAM CLI's Python (it imports samcli); scripts/local-invoke and
scripts/check-bootstraps do. They set LAMBDA_RIE (the emulator) and, for arm64 on another
machine, ARM64_RUNNER (the qemu command prefix).

    lambda_emulator.py invoke FUNCTION EVENT [--arm64] [--env-vars FILE] [--build-dir DIR]
                              [--bootstrap FILE] [--parameter-overrides 'NAME=VALUE ...']
    lambda_emulator.py check --fixtures FILE --events DIR --env-vars FILE --build-dir DIR [--arm64]
"""

import argparse
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
# What a Lambda execution environment has besides the function's configuration.
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "en_US.UTF-8", "TZ": ":UTC"}
# The emulator's own log lines: "29 Nov 2026 05:52:09,039 [INFO] (rapid) ...".
RAPID_INFO = re.compile(r"^\d+ \w+ \d{4} [\d:,]+ \[INFO\] \(rapid\) ")
INIT_REPORT = re.compile(r"INIT REPORT\(durationMs: ([\d.]+)\)")
# Fields are tab-separated; the first REPORT of an emulator also has "Init Duration".
REPORT = re.compile(r"^REPORT RequestId: (\S+)\t(?:.*\t)?Duration: ([\d.]+) ms")
RAPID_PREFIX = re.compile(r"^\d+ \w+ \d{4} [\d:,]+ ")
ELF_MACHINES = {b"\x3e\x00": "x86_64", b"\xb7\x00": "arm64"}


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def host_arch():
    return {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(os.uname().machine)


def elf_arch(path):
    """The architecture of an ELF executable, or None for anything else (a script)."""
    with open(path, "rb") as f:
        header = f.read(20)
    if header[:4] != b"\x7fELF":
        return None
    return ELF_MACHINES.get(header[18:20], "unknown")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    """One `aws-lambda-rie` with one bootstrap, on free loopback ports, until `stop()`.

    Invocations are serialised (as the emulator does), so the n-th REPORT line belongs to the
    n-th invocation.
    """

    def __init__(self, bootstrap, env, arm64=False, echo=None, on_start=None):
        rie = os.environ.get("LAMBDA_RIE") or fail("LAMBDA_RIE is not set (run through scripts/)")
        command = [str(Path(bootstrap).resolve())]
        if arm64 and host_arch() != "arm64":
            runner = os.environ.get("ARM64_RUNNER") or fail("ARM64_RUNNER is not set: qemu-aarch64 is needed")
            command = shlex.split(runner) + command
        self.timeout = float(env.get("AWS_LAMBDA_FUNCTION_TIMEOUT") or 3)
        self.lines = []
        self.changed = threading.Condition()
        self.echo = echo
        self.finished = False  # the emulator's output has ended
        self.invocations = 0
        for _attempt in range(3):
            self.port = free_port()
            self.process = subprocess.Popen(
                [rie, "--runtime-interface-emulator-address", f"127.0.0.1:{self.port}",
                 "--runtime-api-address", f"127.0.0.1:{free_port()}", *command],
                env={**BASE_ENV, "LAMBDA_TASK_ROOT": str(Path(bootstrap).resolve().parent), **env},
                cwd=Path(bootstrap).resolve().parent,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            if on_start is not None:
                # Before the first invocation: the emulator starts the bootstrap only then.
                on_start(self.process.pid)
            threading.Thread(target=self._read, daemon=True).start()
            if self._wait_ready():
                return
            self.stop()
        fail("AWS's Lambda emulator did not start:\n" + "\n".join(self.lines[-20:]))

    def _read(self):
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
            if self.echo:
                self.echo(line)
        with self.changed:
            self.finished = True
            self.changed.notify_all()

    def _wait_ready(self):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def reports(self):
        return [line for line in self.lines if REPORT.match(line)]

    def invoke(self, event):
        """Invoke once: (HTTP status, body, REPORT line or None, emulator lines of this invocation)."""
        self.invocations += 1
        first_line = len(self.lines)
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{INVOKE_PATH}", data=event, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout + 30) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            status, body = None, str(error).encode()
        # The emulator prints END and REPORT just after it answers.
        deadline = time.monotonic() + 5
        with self.changed:
            while len(self.reports()) < self.invocations and time.monotonic() < deadline:
                if self.finished:
                    break
                self.changed.wait(0.1)
            reports = self.reports()
            report = reports[self.invocations - 1] if len(reports) >= self.invocations else None
            lines = self.lines[first_line:]
        if report is None:
            # Keep the count in step: this invocation printed no REPORT line.
            self.invocations -= 1
        return status, body, report, lines

    def stop(self):
        """Stop the emulator and the bootstrap it started (its whole process group)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        try:
            # The emulator is gone; whatever it started in its group goes too.
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.stop()


# ---------------------------------------------------------------------------------------------
# The template, as the SAM CLI reads it


class Template:
    """template.yaml's functions and their `sam local invoke` environment, by the SAM CLI's code."""

    def __init__(self, env_vars_file=None, parameter_overrides=None):
        # The SAM CLI asks boto3 for credentials as `sam local invoke` does; on a machine without
        # any, boto3 would otherwise wait for EC2 instance metadata.
        os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
        from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
        from samcli.lib.providers.sam_function_provider import SamFunctionProvider
        from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

        stacks, _ = SamLocalStackProvider.get_stacks(
            str(REPO / "template.yaml"), parameter_overrides=parameter_overrides or {}
        )
        self.provider = SamFunctionProvider(stacks)
        overrides = {}
        if env_vars_file:
            try:
                overrides = json.loads(Path(env_vars_file).read_text())
            except (OSError, ValueError) as error:
                fail(f"--env-vars {env_vars_file}: {error}")
            # The function runs on this machine, not in a container: Docker's name for the host
            # is 127.0.0.1 here.
            overrides = json.loads(json.dumps(overrides).replace("host.docker.internal", "127.0.0.1"))
        # The runner of `sam local invoke`, used only for its environment; it starts nothing.
        self.runner = LocalLambdaRunner(None, self.provider, str(REPO), str(REPO), env_vars_values=overrides)

    def functions(self):
        return list(self.provider.get_all())

    def function(self, name):
        """A function by logical id (`TodosFunction`) or package (`todos`, the SAM Binary)."""
        for function in self.functions():
            if name in (function.name, self.binary(function)):
                return function
        names = ", ".join(f"{f.name} ({self.binary(f)})" for f in self.functions())
        fail(f"no function {name!r} in template.yaml; functions: {names}")

    @staticmethod
    def binary(function):
        """The package `sam build` builds for the function (its BuildProperties.Binary)."""
        return (function.metadata or {}).get("BuildProperties", {}).get("Binary")

    def environment(self, function):
        return self.runner._make_env_vars(function).resolve()


# ---------------------------------------------------------------------------------------------
# invoke: `sam local invoke` without Docker


def print_emulator_line(line):
    # The emulator's INFO lines are its own bookkeeping; INIT REPORT is Lambda's init line.
    if RAPID_INFO.match(line) and not INIT_REPORT.search(line):
        return
    print(line, file=sys.stderr, flush=True)


def reachable(url):
    match = re.match(r"^https?://([^/:]+):(\d+)", url)
    if not match:
        return True
    try:
        socket.create_connection((match.group(1), int(match.group(2))), timeout=0.5).close()
        return True
    except OSError:
        return False


def command_invoke(args):
    event_path = Path(args.event)
    if not event_path.is_file():
        fail(f"no event file {args.event}")
    template = Template(args.env_vars, dict(p.split("=", 1) for p in args.parameter_overrides))
    function = template.function(args.function)
    binary = template.binary(function)
    if args.bootstrap:
        bootstrap = Path(args.bootstrap)
    elif args.arm64:
        bootstrap = Path(args.build_dir) / function.name / "bootstrap"
        if not bootstrap.is_file():
            fail(f"no {bootstrap}: run `sam build` first (or pass --build-dir DIR)")
    else:
        target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
        print(f"==> cargo build --release -p {binary} (x86_64, run natively; --arm64 runs sam build's bootstrap)",
              file=sys.stderr)
        build = subprocess.run(["cargo", "build", "--locked", "--release", "-p", binary], cwd=REPO)
        if build.returncode != 0:
            fail(f"cargo build --release -p {binary} failed")
        bootstrap = target / "release" / binary
    if not bootstrap.is_file():
        fail(f"no bootstrap at {bootstrap}")
    arch = elf_arch(bootstrap)
    if args.arm64 and arch not in ("arm64", None):
        fail(f"{bootstrap} is an {arch} binary, not arm64")
    if not args.arm64 and arch not in (host_arch(), None):
        fail(f"{bootstrap} is an {arch} binary: pass --arm64 to run it under qemu")

    env = template.environment(function)
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "HELP_CENTER_JWKS_URL"):
        if env.get(name) and not reachable(env[name]):
            print(f"warning: nothing answers at {env[name]} ({name}); is scripts/dev running?",
                  file=sys.stderr)
    print(f"==> {function.name}: {bootstrap} under AWS's Lambda emulator"
          f"{' (qemu-aarch64)' if args.arm64 and host_arch() != 'arm64' else ''}", file=sys.stderr)
    with Emulator(bootstrap, env, arm64=args.arm64, echo=print_emulator_line) as emulator:
        status, body, report, _lines = emulator.invoke(event_path.read_bytes())
        emulator.echo = None  # not the emulator's own shutdown lines
    sys.stdout.write(body.decode("utf-8", "replace") + "\n")
    if status != 200:
        fail(f"the emulator answered {status}: the function crashed or failed (log above)")
    if report is None:
        fail("the emulator printed no REPORT line for the invocation")
    if lambda_status(body) is None:
        fail("the function answered an error, not an HTTP response (above)")


def lambda_status(body):
    """The statusCode of an API Gateway response from the function, or None."""
    try:
        status = json.loads(body).get("statusCode")
    except (ValueError, AttributeError):
        return None
    return status if isinstance(status, int) else None


# ---------------------------------------------------------------------------------------------
# check: every fixture through each bootstrap sam build produced


def judge(emulator, event, expected):
    """Invoke and compare: (ok, description)."""
    status, body, report, lines = emulator.invoke(event)
    if status != 200:
        errors = [line for line in lines if "[ERROR]" in line] or [l for l in lines if "[WARNING]" in l]
        first_error = RAPID_PREFIX.sub("", errors[0]) if errors else "(nothing logged)"
        return False, f"the emulator answered {status}, no response: {first_error}"
    if report is None:
        return False, "no REPORT line"
    got = lambda_status(body)
    duration = REPORT.match(report).group(2)
    if got is None:
        return False, f"expected {expected}, got no HTTP response: {body[:200]!r}"
    if got != expected:
        return False, f"expected {expected}, got {got}"
    return True, f"{got}  (REPORT Duration: {duration} ms)"


def command_check(args):
    fixtures = []  # (file, function package, expected status), in the generator's order
    for line in Path(args.fixtures).read_text().splitlines():
        if line.strip():
            file, package, expected = line.split()
            fixtures.append((file, package, int(expected)))
    if not fixtures:
        fail(f"{args.fixtures} lists no fixtures")
    template = Template(args.env_vars)
    packages = list(dict.fromkeys(package for _, package, _ in fixtures))
    functions = {package: template.function(package) for package in packages}
    failures = []
    checks = []

    def report(ok, what, outcome):
        """ok: True, False, or None for a figure that is not a check."""
        label = {True: "ok   ", False: "FAIL ", None: "     "}[ok]
        print(f"{label} {what:<58} {outcome}", flush=True)
        if ok is None:
            return
        checks.append(what)
        if not ok:
            failures.append(what)

    # The runner itself first: a bootstrap that exits at once must fail the check.
    with tempfile.TemporaryDirectory() as scratch:
        crashing = Path(scratch) / "bootstrap"
        crashing.write_text("#!/bin/sh\necho 'this bootstrap exits at once' >&2\nexit 1\n")
        crashing.chmod(0o755)
        first_file, first_package, first_expected = fixtures[0]
        env = template.environment(functions[first_package])
        with Emulator(crashing, env) as emulator:
            ok, outcome = judge(emulator, (Path(args.events) / first_file).read_bytes(), first_expected)
        report(not ok, "runner: a bootstrap that exits at once is a failure", outcome)

    arch = "arm64" if args.arm64 else host_arch()
    results = {}
    emulators = {}

    def run_function(package):
        function = functions[package]
        bootstrap = Path(args.build_dir) / function.name / "bootstrap"
        lines = []
        if not bootstrap.is_file():
            results[package] = [(False, f"{function.name}: no bootstrap", f"{bootstrap} is missing")]
            return
        emulator = Emulator(bootstrap, template.environment(function), arm64=args.arm64)
        emulators[package] = emulator
        for file, fixture_package, expected in fixtures:
            if fixture_package == package:
                ok, outcome = judge(emulator, (Path(args.events) / file).read_bytes(), expected)
                lines.append((ok, f"{arch} {function.name:<19} {file}", outcome))
        init = [m.group(1) for line in emulator.lines if (m := INIT_REPORT.search(line))]
        if init:
            lines.append((None, f"{arch} {function.name:<19} INIT REPORT", f"{float(init[0]):.1f} ms"))
        results[package] = lines

    threads = [threading.Thread(target=run_function, args=(p,)) for p in packages]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for package in packages:
            for ok, what, outcome in results.get(package, [(False, package, "did not run")]):
                report(ok, what, outcome)
        # The runner again: a fixture through the wrong bootstrap must fail the check.
        if len(packages) > 1:
            file, package, expected = next(
                (f for f in fixtures if f[2] == 200), fixtures[0]
            )
            other = packages[(packages.index(package) + 1) % len(packages)]
            if other in emulators:
                ok, outcome = judge(emulators[other], (Path(args.events) / file).read_bytes(), expected)
                report(not ok, f"runner: {file} through the {other} bootstrap is a failure", outcome)
    finally:
        for emulator in emulators.values():
            emulator.stop()
    if failures:
        print("--- emulator output of the failed functions ---", file=sys.stderr)
        for package, emulator in emulators.items():
            if any(package in what or functions[package].name in what for what in failures):
                for line in emulator.lines[-60:]:
                    print(f"[{package}] {line}", file=sys.stderr)
        fail(f"{len(failures)} of {len(checks)} emulator checks failed")
    print(f"emulator checks: {len(checks)} passed, 0 failed")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    invoke = commands.add_parser("invoke", help="sam local invoke, without Docker", prog="scripts/local-invoke")
    invoke.add_argument("function", help="logical id (TodosFunction) or package (todos)")
    invoke.add_argument("event", help="the event file, e.g. events/todos-list.json")
    invoke.add_argument("--arm64", action="store_true", help="run sam build's arm64 bootstrap under qemu")
    invoke.add_argument("--env-vars", default=str(REPO / "events" / "env.json"), metavar="FILE",
                        help="as sam local invoke --env-vars (default events/env.json)")
    invoke.add_argument("--build-dir", default=str(REPO / ".aws-sam" / "build"), metavar="DIR",
                        help="sam build's output, for --arm64 (default .aws-sam/build)")
    invoke.add_argument("--bootstrap", metavar="FILE", help="run this bootstrap instead of building one")
    invoke.add_argument("--parameter-overrides", action="append", default=[], metavar="'NAME=VALUE ...'",
                        help="template parameters, as sam local invoke (e.g. LogLevel=DEBUG)")
    invoke.set_defaults(run=command_invoke)

    check = commands.add_parser("check", help="every fixture through each built bootstrap")
    check.add_argument("--fixtures", required=True, help="`devserver fixtures` output: file function status")
    check.add_argument("--events", required=True)
    check.add_argument("--env-vars", required=True)
    check.add_argument("--build-dir", required=True)
    check.add_argument("--arm64", action="store_true")
    check.set_defaults(run=command_check)


    args = parser.parse_args()
    if hasattr(args, "parameter_overrides"):
        args.parameter_overrides = [pair for value in args.parameter_overrides for pair in value.split()]
        for pair in args.parameter_overrides:
            if "=" not in pair:
                invoke.error(f"--parameter-overrides takes NAME=VALUE pairs, not {pair!r}")
    args.run(args)


if __name__ == "__main__":
    main()
